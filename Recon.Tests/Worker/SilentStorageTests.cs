using System.Net;
using System.Net.Sockets;
using Azure.Storage.Queues;
using Recon.Core.Queues;
using Recon.Worker.Hosting;

namespace Recon.Tests.Worker;

/// <summary>
/// A storage endpoint that takes requests and never answers (what Azurite now and then does under load): Recon's clients
/// abandon such a request after their network timeout and retry it, instead of holding it for the SDK's 100 s.
/// </summary>
public sealed class SilentStorageTests
{
    [Fact]
    public async Task PipelineQueueClient_AbandonsAnUnansweredRequest_AndRetriesIt()
    {
        await using var silent = SilentServer.Start();
        var options = QueueClients.Options();
        Assert.Equal(QueueClients.NetworkTimeout, options.Retry.NetworkTimeout);
        // the same options with a 1 s timeout, so the test does not wait 10 s per attempt
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(1);
        options.Retry.MaxRetries = 1;
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        var queue = new QueueClient(new Uri($"http://127.0.0.1:{silent.Port}/devstoreaccount1/recon-high"), options);

        var call = queue.GetPropertiesAsync();
        // a bound far above 2 × 1 s, only so a hanging client fails the test instead of hanging it
        Assert.Same(call, await Task.WhenAny(call, Task.Delay(TimeSpan.FromMinutes(1))));
        await Assert.ThrowsAnyAsync<Exception>(() => call);
        Assert.True(silent.Connections >= 2, $"the unanswered request was tried {silent.Connections} time(s), not abandoned and retried");
    }

    [Fact]
    public async Task DurableBackendClients_AbandonAnUnansweredTableRequest_AndRetryIt()
    {
        await using var silent = SilentServer.Start();
        var connection = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Convert.ToBase64String(new byte[64])};"
            + $"BlobEndpoint=http://127.0.0.1:{silent.Port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{silent.Port}/devstoreaccount1;"
            + $"TableEndpoint=http://127.0.0.1:{silent.Port}/devstoreaccount1;";
        var clients = DurableHost.StorageClients(connection, TimeSpan.FromSeconds(1));
        var tableOptions = clients.Table.CreateOptions();
        tableOptions.Retry.MaxRetries = 1;
        tableOptions.Retry.Delay = TimeSpan.FromMilliseconds(10);
        var tables = clients.Table.CreateClient(tableOptions);

        var call = tables.GetPropertiesAsync();
        Assert.Same(call, await Task.WhenAny(call, Task.Delay(TimeSpan.FromMinutes(1))));
        await Assert.ThrowsAnyAsync<Exception>(() => call);
        Assert.True(silent.Connections >= 2, $"the unanswered request was tried {silent.Connections} time(s), not abandoned and retried");
        Assert.Equal(TimeSpan.FromSeconds(1), clients.Queue.CreateOptions().Retry.NetworkTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), clients.Blob.CreateOptions().Retry.NetworkTimeout);
    }

    /// <summary>Accepts connections on loopback, reads what comes, answers nothing.</summary>
    private sealed class SilentServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly List<TcpClient> _clients = [];
        private Task? _loop;
        private int _connections;

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Connections => Volatile.Read(ref _connections);

        public static SilentServer Start()
        {
            var server = new SilentServer();
            server._listener.Start();
            server._loop = server.AcceptAsync();
            return server;
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    Interlocked.Increment(ref _connections);
                    lock (_clients)
                    {
                        _clients.Add(client);
                    }
                    _ = DrainAsync(client.GetStream());
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task DrainAsync(NetworkStream stream)
        {
            var buffer = new byte[4096];
            try
            {
                while (await stream.ReadAsync(buffer, _stop.Token) > 0)
                {
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            lock (_clients)
            {
                _clients.ForEach(c => c.Dispose());
            }
            if (_loop is not null)
            {
                await _loop;
            }
            _stop.Dispose();
        }
    }
}
