// ClipConfig and ClipActivation live in the inference package (checkpoint reading and ONNX export need no libtorch);
// the model and the trainer use them everywhere.
global using Microsoft.ML.Clip.Checkpoints;
