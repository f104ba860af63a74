using Microsoft.ML.Clip.Graphs;
using Onnx;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// Raises the ai.onnx opset of a graph whose operators mean the same at the higher version — what a pass needs before it
/// adds operators of a newer opset to an older graph, such as the NuGet ResNet-18's (opset 8): DynamicQuantizeLinear is
/// opset 11, a per-channel DequantizeLinear (its <c>axis</c>) opset 13. Only the operators listed here are accepted; any
/// other refuses the upgrade, naming it. The few whose attributes became inputs at 13 are rewritten.
/// </summary>
internal static class OpsetUpgrade
{
    // Operators whose definition (inputs, outputs, attributes used by these graphs) is the same from opset 7 to 13.
    private static readonly HashSet<string> Unchanged = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Sqrt", "Pow", "Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Conv", "MaxPool", "AveragePool",
        "GlobalAveragePool", "Concat", "Reshape", "Flatten", "MatMul", "Gemm", "ReduceMean", "Identity", "Transpose",
        "Gather", "Cast", "Shape", "LpNormalization", "Expand",
        // Operators that this package's passes add, already at their opset-11 (13) form.
        "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "QuantizeLinear", "DequantizeLinear",
    };

    // Operators the same from 7 to 11 that changed at 13: Softmax's axis now means one axis, not "flatten from here";
    // Split, Squeeze and Unsqueeze take their lists as inputs (rewritten below).
    private static readonly HashSet<string> UnchangedTo11 = new(StringComparer.Ordinal) { "Softmax", "Split", "Squeeze", "Unsqueeze" };

    /// <summary>Sets the ai.onnx opset of <paramref name="model"/> to at least <paramref name="version"/> (at most 13).</summary>
    /// <exception cref="NotSupportedException">An operator's meaning would change (the message names it).</exception>
    public static void RaiseTo(ModelProto model, long version)
    {
        if (version > 13)
            throw new ArgumentOutOfRangeException(nameof(version), version, "Upgrades are known up to opset 13.");
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx");
        if (opset is null)
            model.OpsetImport.Add(opset = new OperatorSetIdProto { Domain = "", Version = version });
        if (opset.Version >= version)
            return;
        var from = opset.Version;
        // Below opset 7, Add/Mul/Sub broadcast by attributes and BatchNormalization had others: the list above does not hold.
        if (from < 7)
            throw new NotSupportedException($"The graph is at opset {from}; upgrades are known from opset 7 on.");
        var nodes = model.Graph.Node.Where(n => n.Domain is "" or "ai.onnx").ToList();
        // Checked before anything changes, so a refused upgrade leaves the graph as it was.
        foreach (var node in nodes)
        {
            if (node.OpType == "BatchNormalization" && node.Attribute.FirstOrDefault(a => a.Name == "spatial") is { I: not 1 } spatial)
                throw new NotSupportedException($"BatchNormalization '{node.Name}' has spatial = {spatial.I}, which opset {version} cannot express.");
            var known = node.OpType == "BatchNormalization" || Unchanged.Contains(node.OpType)
                || (UnchangedTo11.Contains(node.OpType) && (version <= 11 || node.OpType != "Softmax"));
            if (!known)
                throw new NotSupportedException($"The graph is at opset {from}; its {node.OpType} node '{node.Name}' is not known to mean the same at opset {version}, which int8 quantization needs.");
        }
        UniqueNames? names = null;
        foreach (var node in nodes)
        {
            if (node.OpType == "BatchNormalization")
            {
                // Opset 9 dropped "spatial": what spatial = 1 (per channel) meant became the only behaviour.
                var spatial = node.Attribute.FirstOrDefault(a => a.Name == "spatial");
                if (spatial is not null)
                    node.Attribute.Remove(spatial);
            }
            else if (version >= 13 && from < 13 && node.OpType is "Split" or "Squeeze" or "Unsqueeze")
            {
                MoveListToInput(model.Graph, node, node.OpType == "Split" ? "split" : "axes", names ??= new UniqueNames(model.Graph));
            }
        }
        opset.Version = version;
        // IR version 6 is the first that opset 11 may use, 7 the first for opset 13.
        var ir = version >= 13 ? 7 : 6;
        if (model.IrVersion < ir)
            model.IrVersion = ir;
    }

    // Opset 13 moved Split's "split" and (Un)Squeeze's "axes" attribute to an int64 input (second input).
    private static void MoveListToInput(GraphProto graph, NodeProto node, string attribute, UniqueNames names)
    {
        var list = node.Attribute.FirstOrDefault(a => a.Name == attribute);
        if (list is null)
            return;
        node.Attribute.Remove(list);
        var name = names.New((node.Name.Length > 0 ? node.Name : node.Output[0]) + "_" + attribute);
        graph.Initializer.Add(OnnxGraphBuilder.Int64Tensor(name, [.. list.Ints]));
        node.Input.Add(name);
    }
}
