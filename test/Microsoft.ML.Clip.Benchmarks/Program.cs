using BenchmarkDotNet.Running;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>Runs the benchmarks: <c>dotnet run -c Release --project test/Microsoft.ML.Clip.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    /// <summary>Entry point: BenchmarkDotNet's switcher over every benchmark class here.</summary>
    public static void Main(string[] args)
    {
        if (args is ["train-step", .. var rest]) { TrainingStepTiming.Run(rest); return; } // build/bench-train.sh
        if (args is ["graph-lab", .. var lab]) { GraphLab.Run(lab); return; }
        if (args is ["graph-bench", .. var graph]) { GraphBench.Run(graph); return; } // build/bench-graph.sh
        if (args is ["embed-throughput", .. var embed]) { EmbedThroughput.Run(embed); return; } // build/bench-embed.sh
        if (args is ["bench-table", .. var table]) { BenchTable.Run(table); return; } // build/bench-table.sh
        if (args is ["preprocess-vs-pillow", .. var pre]) { PreprocessThroughput.Run(pre); return; } // build/bench-preprocess.sh
        if (args is ["jpeg-dct-scaling", .. var dct]) { JpegDctScalingQuality.Run(dct); return; } // build/bench-jpeg-dct.sh
        if (args is ["frozen-text", .. var text]) { FrozenTextThroughput.Run(text); return; }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
