// Checkpoints/ClipCheckpoint.cs names ClipTorchModel (now in Modules) in its XML docs. Checkpoints/ moves to the
// inference package on plain arrays on another branch; once it has, this line can go (every other file says its usings).
global using Microsoft.ML.Clip.TorchSharp.Modules;
