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

    /// <summary>
    /// A checkout the <c>postgres</c> user cannot enter (a 0700 temp folder; a home under /root): as root, <c>./recon</c>
    /// keeps PostgreSQL's runtime in /var/tmp and links <c>$STATE/run</c> to it. <c>down</c> once handed that link to
    /// <c>pg_ctl</c> running as postgres, which could not traverse it: PostgreSQL kept running, <c>down</c> said nothing
    /// and exited 0, and the next <c>up</c> stopped at "port taken". Runs the script alone (no .NET build of the solution)
    /// from a copy, on a port of its own and with its own state, so it never meets the stack the suite runs on.
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")] // runuser, /proc, Debian's postgresql, like ./recon itself
    public async Task Down_CheckoutPostgresCannotEnter_StopsPostgresAndFreesItsPort()
    {
        var root = RepositoryRoot();
        var parent = Directory.CreateTempSubdirectory("recon-private-");
        File.SetUnixFileMode(parent.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var checkout = Path.Combine(parent.FullName, "checkout");
        var deploy = Path.Combine(checkout, "deploy", "local");
        Directory.CreateDirectory(deploy);
        File.Copy(Path.Combine(root, "recon"), Path.Combine(checkout, "recon"));
        foreach (var file in Directory.GetFiles(Path.Combine(root, "deploy", "local")))
        {
            File.Copy(file, Path.Combine(deploy, Path.GetFileName(file)));
        }
        var state = Path.Combine(parent.FullName, "state");
        var port = FreePort();
        var env = new Dictionary<string, string>
        {
            ["RECON_STATE_DIR"] = state,
            ["RECON_PG_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        try
        {
            var (upExit, _, upStderr) = await RunReconAsync(["up-postgres"], env, checkout);
            Assert.True(upExit == 0, $"./recon up-postgres exited {upExit}: {upStderr}");
            if (Environment.IsPrivilegedProcess)
            {
                // the case under test: the runtime is reached through a link postgres cannot traverse
                Assert.NotNull(Directory.ResolveLinkTarget(Path.Combine(state, "run"), returnFinalTarget: true));
            }
            var data = Path.Combine(ResolvedRuntime(state)!, "pg", "data");
            var postmaster = int.Parse(File.ReadLines(Path.Combine(data, "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(PortAccepts(port), $"postgresql (pid {postmaster}) is not listening on {port} after up-postgres");

            var (downExit, _, downStderr) = await RunReconAsync(["down"], env, checkout);

            Assert.False(ProcessRunning(postmaster), $"postgresql (pid {postmaster}, data {data}) still runs after ./recon down (exit {downExit}): {downStderr}");
            Assert.False(PortAccepts(port), $"port {port} is still taken after ./recon down: {downStderr}");
            Assert.True(downExit == 0, $"./recon down exited {downExit}: {downStderr}");
            Assert.Contains("stopped postgresql", downStderr, StringComparison.Ordinal);
        }
        finally
        {
            // whatever happened above: stop this test's PostgreSQL by its resolved data folder, then remove its files
            var runtime = ResolvedRuntime(state);
            if (runtime is not null)
            {
                StopPostgres(Path.Combine(runtime, "pg", "data"));
                if (!runtime.StartsWith(parent.FullName + "/", StringComparison.Ordinal))
                {
                    Directory.Delete(runtime, recursive: true);
                }
            }
            parent.Delete(recursive: true);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static bool PortAccepts(int port)
    {
        using var client = new TcpClient();
        try
        {
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Alive and not a zombie (a dead child nobody has reaped yet holds no port and no files).</summary>
    private static bool ProcessRunning(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }
        var state = stat[(stat.LastIndexOf(')') + 2)..][0];
        return state is not ('Z' or 'X');
    }

    /// <summary>The folder <c>$STATE/run</c> resolves to (the /var/tmp runtime when it is a link), or null.</summary>
    private static string? ResolvedRuntime(string state)
    {
        var run = Path.Combine(state, "run");
        try
        {
            return Directory.ResolveLinkTarget(run, returnFinalTarget: true)?.FullName ?? (Directory.Exists(run) ? run : null);
        }
        catch (IOException)
        {
            return null; // no $STATE/run at all: up-postgres failed before creating it
        }
    }

    private static void StopPostgres(string data)
    {
        var pgCtl = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin", "pg_ctl")).FirstOrDefault(File.Exists);
        if (pgCtl is null || !File.Exists(Path.Combine(data, "postmaster.pid")))
        {
            return;
        }
        var psi = new ProcessStartInfo(Environment.IsPrivilegedProcess ? "runuser" : pgCtl)
        {
            WorkingDirectory = "/",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (Environment.IsPrivilegedProcess)
        {
            foreach (var a in new[] { "-u", "postgres", "--", pgCtl })
            {
                psi.ArgumentList.Add(a);
            }
        }
        foreach (var a in new[] { "-D", data, "-m", "immediate", "-w", "stop" })
        {
            psi.ArgumentList.Add(a);
        }
        using var process = Process.Start(psi)!;
        process.WaitForExit(TimeSpan.FromSeconds(30));
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

    /// <summary>Runs <c>recon</c> of <paramref name="root"/> (default: this repository) from that folder.</summary>
    internal static async Task<(int Exit, string Stdout, string Stderr)> RunReconAsync(string[] args, Dictionary<string, string> env, string? root = null)
    {
        root ??= RepositoryRoot();
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
