using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Recon.Bench.Spike;

/// <summary>
/// A fresh Azurite of the bench's own on free loopback ports, so one mode's queue traffic (the naive mode's storm of
/// immediate redeliveries) cannot slow the next mode down: Azurite is a single Node process and stays busy with a
/// backlog of requests long after their callers gave up. Its data lives in a temporary folder, not in memory: the
/// in-memory store's queue GC blocks the whole process for seconds a minute once thousands of messages have passed
/// (see README, "Azurite on disk"). Disposing kills the whole process tree and deletes the folder.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>How long Azurite may take to answer on its ports: 60 s, as <c>./recon up</c> allows, since a start-up
    /// on a loaded 2-core machine takes seconds.</summary>
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long a killed Azurite gets to exit before the bench moves on: 10 s.</summary>
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Azurite's public, documented development account key (not a secret).</summary>
    private const string DevelopmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>Tries of a start when a port picked as free was taken meanwhile: 3.</summary>
    private const int StartAttempts = 3;

    private readonly Process _process;
    private readonly string _workDir;
    private bool _disposed;
    private bool _exited;

    private AzuriteProcess(Process process, string workDir, int blobPort)
    {
        _process = process;
        _workDir = workDir;
        BlobPort = blobPort;
    }

    public int BlobPort { get; }

    public int QueuePort => BlobPort + 1;

    public int ProcessId => _process.Id;

    /// <summary>Whether the process is gone (after disposal: whether it was seen to exit).</summary>
    public bool HasExited => _disposed ? _exited : _process.HasExited;

    /// <summary>A connection string for this Azurite's development account.</summary>
    public string ConnectionString => ConnectionStringFor(BlobPort);

    public static string ConnectionStringFor(int blobPort) => string.Create(CultureInfo.InvariantCulture,
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevelopmentKey};BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{blobPort + 1}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{blobPort + 2}/devstoreaccount1;");

    /// <summary>The Azurite that <c>./recon up</c> installs: under <paramref name="reconRoot"/> (RECON_ROOT) if given,
    /// else in the first folder above this program that has <c>.tools</c>. Null when it is not installed.</summary>
    public static string? FindBinary(string? reconRoot)
    {
        static string Bin(string root) => Path.Combine(root, ".tools", "node_modules", ".bin", "azurite");
        if (!string.IsNullOrEmpty(reconRoot))
        {
            return File.Exists(Bin(reconRoot)) ? Bin(reconRoot) : null;
        }
        // bounded: walks up to the file system's root
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Bin(dir.FullName)))
            {
                return Bin(dir.FullName);
            }
        }
        return null;
    }

    /// <summary>Starts <paramref name="binary"/> on three free consecutive loopback ports from a temporary folder and
    /// waits until its queue and table ports answer.</summary>
    public static async Task<AzuriteProcess> StartAsync(string binary, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(binary);
        Exception? last = null;
        for (var attempt = 1; attempt <= StartAttempts; attempt++)
        {
            var port = FreePortTriple();
            var workDir = Directory.CreateTempSubdirectory("recon-spike-azurite-").FullName;
            var info = new ProcessStartInfo(binary)
            {
                WorkingDirectory = workDir,
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            foreach (var arg in new[]
                     {
                         "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--location", workDir,
                         "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                         "--blobPort", Port(port), "--queuePort", Port(port + 1), "--tablePort", Port(port + 2),
                     })
            {
                info.ArgumentList.Add(arg);
            }
            var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {binary}");
            var stderr = new System.Collections.Concurrent.ConcurrentQueue<string>();
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is { Length: > 0 } line && stderr.Count < 20)
                {
                    stderr.Enqueue(line);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var azurite = new AzuriteProcess(process, workDir, port);
            try
            {
                await azurite.WaitUntilAnsweringAsync(cancellationToken).ConfigureAwait(false);
                return azurite;
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
            {
                last = new InvalidOperationException($"Azurite ({binary}) did not answer on 127.0.0.1:{port}-{port + 2}: {ex.Message} {string.Join(" | ", stderr)}", ex);
                await azurite.DisposeAsync().ConfigureAwait(false);
            }
            catch
            {
                await azurite.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        throw last!;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
            using var timeout = new CancellationTokenSource(ExitTimeout);
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            _exited = true;
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            // already gone, or it would not die in time: nothing more the bench can do, and the run's figures stand
        }
        finally
        {
            _disposed = true;
            _process.Dispose();
            try
            {
                Directory.Delete(_workDir, recursive: true);
            }
            catch (IOException)
            {
                // a temp folder left behind is harmless
            }
        }
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private async Task WaitUntilAnsweringAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(StartupTimeout);
        foreach (var port in new[] { BlobPort, BlobPort + 1, BlobPort + 2 })
        {
            // bounded by the start-up timeout
            while (true)
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"exited with code {_process.ExitCode}");
                }
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token).ConfigureAwait(false);
                    break;
                }
                catch (SocketException)
                {
                    try
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(100), timeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        throw new TimeoutException($"no answer on port {port} within {StartupTimeout.TotalSeconds:0} s");
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException($"no answer on port {port} within {StartupTimeout.TotalSeconds:0} s");
                }
            }
        }
    }

    /// <summary>A port P with P, P+1 and P+2 free on loopback (asked of the OS, then checked).</summary>
    private static int FreePortTriple()
    {
        // bounded: 50 tries
        for (var i = 0; i < 50; i++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            if (port <= 65533 && IsFree(port) && IsFree(port + 1) && IsFree(port + 2))
            {
                return port;
            }
        }
        throw new InvalidOperationException("no three consecutive free loopback ports found in 50 tries");
    }

    private static bool IsFree(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
