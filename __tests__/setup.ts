import { Testing } from 'cdktf';

// registers cdktf's matchers (toHaveResourceWithProperties and friends) for every suite
Testing.setupJest();
