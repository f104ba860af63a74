// The tool's code lives in namespace ClipCli, not Microsoft.ML.Clip.Cli: inside Microsoft.ML.*,
// ML.NET's namespace Microsoft.ML.Command would hide System.CommandLine.Command.
global using System.CommandLine;
