global using Xunit;
// ClipConfig, ClipActivation and the plain checkpoint code live in the inference package.
global using Microsoft.ML.Clip.Checkpoints;
