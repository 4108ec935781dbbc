using Npgsql;

namespace Recon.Bench.Spike;

/// <summary>
/// Samples, straight from PostgreSQL (pg_stat_activity over a direct admin connection opened before the run, so it
/// still works when the server refuses new clients), how many server connections the bench database holds; and the
/// recorder's backlog at the same moments.
/// </summary>
public sealed class ServerConnectionSampler : IAsyncDisposable
{
    /// <summary>20 samples a second: fine enough to catch a burst of connections, cheap for the server.</summary>
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>A run never lasts longer than this; the loop stops by itself even if nobody stops it.</summary>
    private static readonly TimeSpan MaxRun = TimeSpan.FromMinutes(20);

    private readonly CancellationTokenSource _stop = new();
    private readonly NpgsqlConnection _connection;
    private readonly string _database;
    private readonly SpikeRecorder _recorder;
    private Task? _loop;

    private ServerConnectionSampler(NpgsqlConnection connection, string database, SpikeRecorder recorder)
    {
        _connection = connection;
        _database = database;
        _recorder = recorder;
    }

    public static async Task<ServerConnectionSampler> StartAsync(string adminConnectionString, string database, SpikeRecorder recorder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(recorder);
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(adminConnectionString) { Pooling = false, ApplicationName = "recon-spike-sampler" }.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var sampler = new ServerConnectionSampler(connection, database, recorder);
        sampler._loop = Task.Run(() => sampler.LoopAsync(sampler._stop.Token), CancellationToken.None);
        return sampler;
    }

    /// <summary>One count right now (also used before a run, to check the database is quiet).</summary>
    public async Task<int> CountAsync(CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand(
            "select count(*)::int from pg_stat_activity where datname = $1 and backend_type = 'client backend' and pid <> pg_backend_pid()", _connection);
        cmd.Parameters.Add(new() { Value = _database });
        return (int)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        var until = DateTime.UtcNow + MaxRun;
        while (!ct.IsCancellationRequested && DateTime.UtcNow < until)
        {
            try
            {
                var count = await CountAsync(ct).ConfigureAwait(false);
                _recorder.ConnectionSample(_recorder.Now, count);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (NpgsqlException)
            {
                // the server may be struggling in the naive mode: this sample is lost, the next one may succeed
            }
            _recorder.SampleBacklog();
            try
            {
                await Task.Delay(Interval, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        _recorder.SampleBacklog();
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
