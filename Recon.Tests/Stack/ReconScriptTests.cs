using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Recon.Tests.Stack;

/// <summary>The <c>./recon</c> entry point fails fast and clearly, instead of hanging.</summary>
public sealed class ReconScriptTests
{
    [Fact]
    public async Task Up_PortAlreadyTaken_FailsNamingTheServerAndThePort()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var state = Directory.CreateTempSubdirectory("recon-state-");
        try
        {
            var (exit, _, stderr) = await RunReconAsync(["up"], new()
            {
                ["RECON_STATE_DIR"] = state.FullName,
                ["RECON_PG_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });

            Assert.NotEqual(0, exit);
            Assert.Contains($"postgresql cannot start: port {port} on 127.0.0.1 is already taken", stderr, StringComparison.Ordinal);
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task UnknownCommand_ExitsWithUsage()
    {
        var (exit, _, stderr) = await RunReconAsync(["no-such-verb"], []);

        Assert.Equal(2, exit);
        Assert.Contains("unknown command 'no-such-verb'", stderr, StringComparison.Ordinal);
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "recon")) && File.Exists(Path.Combine(dir.FullName, "Recon.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("repository root (with ./recon) not found above " + AppContext.BaseDirectory);
    }

    internal static async Task<(int Exit, string Stdout, string Stderr)> RunReconAsync(string[] args, Dictionary<string, string> env)
    {
        var root = RepositoryRoot();
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        psi.ArgumentList.Add(Path.Combine(root, "recon"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env)
        {
            psi.Environment[k] = v;
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // a guard against a hang, not a speed assertion: the script must answer on its own long before this
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(guard.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"./recon {string.Join(' ', args)} hung for 3 minutes; stderr so far: {await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
