using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Recon.Tests.Cli;

/// <summary>The CLI with a server that is not there: one line saying which and what to do, exit 1, no stack trace.</summary>
public sealed class CliErrorTests
{
    [Fact]
    public async Task Status_DatabaseDown_SaysWhichServerAndWhatToDo()
    {
        // a loopback port nobody listens on: taken from the OS and released again
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "recon.dll"));
        info.ArgumentList.Add("status");
        info.Environment["Recon__Database__ConnectionString"] = $"Host=127.0.0.1;Port={port};Database=recon;Username=recon;Password=unused;Timeout=5";
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(limit.Token);

        var error = await stderr;
        Assert.Equal(1, process.ExitCode);
        Assert.Contains("recon status: cannot reach PostgreSQL or PgBouncer", error, StringComparison.Ordinal);
        Assert.Contains("./recon up", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", error + await stdout, StringComparison.Ordinal);
    }
}
