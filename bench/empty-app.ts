/** The synth baseline: a cdktf app with one empty stack and nothing else. */
import { App, TerraformStack } from 'cdktf';

const app = new App();
new TerraformStack(app, 'empty');
app.synth();
