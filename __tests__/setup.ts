import { Testing } from 'cdktf';
// brings the declarations of cdktf's jest matchers into every test file's type-check
import type {} from 'cdktf/lib/testing/adapters/jest';

// registers cdktf's matchers (toHaveResourceWithProperties and friends) for every suite
Testing.setupJest();
