using Onnx;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// Raises the ai.onnx opset of a graph whose operators mean the same at the higher version — what a pass needs before it
/// adds operators of a newer opset (DynamicQuantizeLinear is opset 11) to an older graph, such as the NuGet ResNet-18's
/// (opset 8). Only the operators listed here are accepted; any other refuses the upgrade, naming it.
/// </summary>
internal static class OpsetUpgrade
{
    // Operators whose definition (inputs, outputs, attributes used by these graphs) is the same from opset 7 to 11.
    private static readonly HashSet<string> Unchanged = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Sqrt", "Pow", "Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Conv", "MaxPool", "AveragePool",
        "GlobalAveragePool", "Concat", "Split", "Reshape", "Flatten", "MatMul", "Gemm", "ReduceMean", "Identity", "Transpose",
        "Gather", "Cast", "Shape", "Softmax", "LpNormalization", "Squeeze", "Unsqueeze", "Expand",
        // Operators that this package's passes add, already at their opset-11 form.
        "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger",
    };

    /// <summary>Sets the ai.onnx opset of <paramref name="model"/> to at least <paramref name="version"/>.</summary>
    /// <exception cref="NotSupportedException">An operator's meaning would change (the message names it).</exception>
    public static void RaiseTo(ModelProto model, long version)
    {
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        if (opset is null)
            model.OpsetImport.Add(opset = new OperatorSetIdProto { Domain = "", Version = version });
        if (opset.Version >= version)
            return;
        foreach (var node in model.Graph.Node.Where(n => n.Domain is "" or "ai.onnx"))
        {
            if (node.OpType == "BatchNormalization")
            {
                // Opset 9 dropped "spatial": what spatial = 1 (per channel) meant became the only behaviour.
                var spatial = node.Attribute.FirstOrDefault(a => a.Name == "spatial");
                if (spatial is not null && spatial.I != 1)
                    throw new NotSupportedException($"BatchNormalization '{node.Name}' has spatial = {spatial.I}, which opset {version} cannot express.");
                if (spatial is not null)
                    node.Attribute.Remove(spatial);
                continue;
            }
            if (!Unchanged.Contains(node.OpType))
                throw new NotSupportedException($"The graph is at opset {opset.Version}; its {node.OpType} node '{node.Name}' is not known to mean the same at opset {version}, which int8 quantization needs.");
        }
        opset.Version = version;
        // IR version 6 is the first that opset 11 may use.
        if (model.IrVersion < 6)
            model.IrVersion = 6;
    }
}
