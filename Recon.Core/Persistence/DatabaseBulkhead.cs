using Npgsql;

namespace Recon.Core.Persistence;

/// <summary>
/// Caps how many operations in this process use the database at once, and hands each one an open connection.
/// </summary>
/// <remarks>
/// Npgsql's pool would also queue callers past its maximum, but it fails them after its connection timeout with
/// a generic error; the bulkhead makes the cap explicit, observable (<see cref="InUse"/>), and its error says
/// which setting to change.
/// </remarks>
public sealed class DatabaseBulkhead : IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly SemaphoreSlim _slots;
    private readonly TimeSpan _waitTimeout;
    private int _inUse;
    private int _peakInUse;

    public DatabaseBulkhead(NpgsqlDataSource dataSource, DatabaseOptions options)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        _dataSource = dataSource;
        Capacity = options.MaxConcurrentOperations;
        _slots = new SemaphoreSlim(Capacity, Capacity);
        _waitTimeout = options.BulkheadWaitTimeout;
    }

    public int Capacity { get; }

    public int InUse => Volatile.Read(ref _inUse);

    public int PeakInUse => Volatile.Read(ref _peakInUse);

    public NpgsqlDataSource DataSource => _dataSource;

    public async Task<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (!await _slots.WaitAsync(_waitTimeout, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException(
                $"No database slot free after {_waitTimeout.TotalSeconds:0.#} s ({Capacity} in use). " +
                $"Raise {DatabaseOptions.SectionName}:MaxConcurrentOperations within the connection budget, or lower concurrency.");
        }
        var now = Interlocked.Increment(ref _inUse);
        UpdatePeak(now);
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            return await operation(connection, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inUse);
            _slots.Release();
        }
    }

    public Task RunAsync(Func<NpgsqlConnection, CancellationToken, Task> operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return RunAsync<bool>(async (c, ct) =>
        {
            await operation(c, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    private void UpdatePeak(int now)
    {
        var peak = Volatile.Read(ref _peakInUse);
        while (now > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peakInUse, now, peak);
            if (seen == peak)
            {
                return;
            }
            peak = seen;
        }
    }

    public void Dispose() => _slots.Dispose();
}
