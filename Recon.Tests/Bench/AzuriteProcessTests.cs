using System.Diagnostics;
using Azure.Storage.Queues;
using Recon.Bench.Spike;

namespace Recon.Tests.Bench;

/// <summary>The spike bench's per-mode Azurite: a real process that serves queues and is gone after disposal.</summary>
public sealed class AzuriteProcessTests
{
    [Fact]
    public async Task Start_ServesQueues_AndDisposeKillsTheProcess()
    {
        // ./recon up installs Azurite under .tools; the tests run after it
        var binary = AzuriteProcess.FindBinary(Environment.GetEnvironmentVariable("RECON_ROOT"));
        Assert.NotNull(binary);
        var azurite = await AzuriteProcess.StartAsync(binary, CancellationToken.None);
        int pid;
        try
        {
            pid = azurite.ProcessId;
            var queue = new QueueServiceClient(azurite.ConnectionString, SpikeArrivals.QueueOptions()).GetQueueClient("azurite-process-test");
            await queue.CreateIfNotExistsAsync();
            await queue.SendMessageAsync("hello");
            var received = await queue.ReceiveMessageAsync();
            Assert.Equal("hello", received.Value.Body.ToString());
        }
        finally
        {
            await azurite.DisposeAsync();
        }
        Assert.True(azurite.HasExited);
        Assert.False(IsRunning(pid));
        // bounded: at most 10 s for the port to close after the kill
        var closed = false;
        for (var i = 0; i < 100 && !closed; i++)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, azurite.QueuePort);
                await Task.Delay(100);
            }
            catch (System.Net.Sockets.SocketException)
            {
                closed = true;
            }
        }
        Assert.True(closed, $"Azurite's queue port {azurite.QueuePort} still answers after disposal");
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
