using System.Diagnostics;
using System.Reflection;

namespace Recon.Tests.Deploy;

/// <summary>The real bicep CLI from the Azure.Bicep.CommandLine.linux-x64 package (path baked in at build time).</summary>
public static class BicepCli
{
    /// <summary>Generous: bicep starts in a few seconds, but five helpers share two cores.</summary>
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    public static string Path { get; } = Locate();

    public static BicepResult Run(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(Path)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        // The parameter files read these with readEnvironmentVariable: pin them so a developer's shell cannot change
        // what is checked, and so no real secret from the environment ends up in a snapshot on disk.
        start.Environment["AZURE_LOCATION"] = "eastus2";
        foreach (var name in new[] { "STRIPE_API_KEY", "PLAID_CLIENT_ID", "PLAID_SECRET", "BANK_A_CREDENTIAL", "BANK_B_CREDENTIAL", "BANK_A_BASE_URL", "BANK_B_BASE_URL", "RECON_ALERT_EMAIL" })
        {
            start.Environment.Remove(name);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Path}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(RunTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', args)} did not finish within {RunTimeout.TotalMinutes} minutes");
        }
        return new BicepResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string Locate()
    {
        var path = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BicepCli")?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new InvalidOperationException(
                $"the bicep CLI was not found at '{path}': Recon.Tests references Azure.Bicep.CommandLine.linux-x64 with GeneratePathProperty; restore the solution.");
        }
        // NuGet extracts the binary without execute bits for group/other (and sometimes none at all).
        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            var mode = File.GetUnixFileMode(path);
            if ((mode & execute) != execute)
            {
                File.SetUnixFileMode(path, mode | execute | UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
        }
        return path;
    }
}

public sealed record BicepResult(int ExitCode, string StdOut, string StdErr)
{
    public string Output => StdOut + StdErr;

    /// <summary>Diagnostic lines: "file(line,col) : Error|Warning code: message".</summary>
    public IReadOnlyList<string> Diagnostics(string level)
        => Output.Split('\n').Where(l => l.Contains($": {level} ", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
}
