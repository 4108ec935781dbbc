using Microsoft.Extensions.Configuration;

namespace Recon.Cli;

/// <summary><c>recon bench NAME ...</c>: dispatches to one benchmark by the next argument.</summary>
internal static class BenchCommand
{
    private static readonly Dictionary<string, (string Help, Func<string[], IConfiguration, Task<int>> Run)> Benchmarks = new(StringComparer.Ordinal)
    {
        ["spike"] = ("the 10x spike, naive vs recon on the local stack: " + BenchSpikeCommand.Usage, BenchSpikeCommand.RunAsync),
    };

    public static Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        if (args.Length == 0 || !Benchmarks.TryGetValue(args[0], out var bench))
        {
            var known = string.Join(Environment.NewLine, Benchmarks.Select(b => $"  {b.Key,-8} {b.Value.Help}"));
            throw new UsageException($"usage: recon bench <name> [options]; benchmarks:{Environment.NewLine}{known}");
        }
        return bench.Run(args[1..], configuration);
    }
}
