using Microsoft.Extensions.Configuration;

namespace Recon.Cli;

internal static class DemoCommand
{
    public static Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        Console.WriteLine("recon demo: the stack is up and the schema is migrated; the pipeline run is not built yet (issue 6).");
        return Task.FromResult(0);
    }
}
