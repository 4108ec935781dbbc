using Npgsql;

namespace Recon.Tests.Infrastructure;

/// <summary>Polls pg_stat_activity (straight to PostgreSQL) and keeps the peak number of server connections to one database.</summary>
public sealed class ServerConnectionSampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<int> _loop;

    public ServerConnectionSampler(string database)
    {
        _loop = Task.Run(() => SampleAsync(database, _stop.Token));
    }

    public int Samples { get; private set; }

    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        return await _loop;
    }

    private async Task<int> SampleAsync(string database, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(TestStack.DirectConnectionString);
        await conn.OpenAsync(CancellationToken.None);
        await using var cmd = new NpgsqlCommand("select count(*)::int from pg_stat_activity where datname = $1 and backend_type = 'client backend'", conn);
        cmd.Parameters.Add(new() { Value = database });
        var peak = 0;
        // bounded: at most 10 minutes of 10 ms samples, whatever happens to the caller
        for (var i = 0; i < 60_000 && !ct.IsCancellationRequested; i++)
        {
            var now = (int)(await cmd.ExecuteScalarAsync(CancellationToken.None))!;
            peak = Math.Max(peak, now);
            Samples++;
            try
            {
                await Task.Delay(10, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return peak;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }
        _stop.Dispose();
    }
}
