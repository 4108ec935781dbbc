using Azure.Storage.Queues;

namespace Recon.Bench.Spike;

/// <summary>
/// Runs a mode on an Azurite of its own (<see cref="AzuriteProcess"/>), started before the mode's clock starts and
/// killed when the mode ends, so the modes share no queue server. Falls back to the stack's Azurite, and says so, only
/// when the Azurite binary is not installed.
/// </summary>
public sealed class AzuriteIsolatedMode : ISpikeMode, ISpikeModeLifecycle, ISpikeModeCost
{
    private readonly ISpikeMode _onStack;
    private readonly Func<QueueServiceClient, string, ISpikeMode> _create;
    private readonly string? _binary;
    private ISpikeMode? _current;
    private readonly QueueCallMeter _meter = new();

    /// <param name="create">Builds the mode on the given queue service (and its storage connection string).</param>
    /// <param name="stackQueues">The stack's Azurite (<c>./recon up</c>): the fallback.</param>
    /// <param name="stackStorage">The stack's storage connection string.</param>
    /// <param name="binary">The Azurite to start for each run, or null when it is not installed.</param>
    public AzuriteIsolatedMode(Func<QueueServiceClient, string, ISpikeMode> create, QueueServiceClient stackQueues, string stackStorage, string? binary)
    {
        ArgumentNullException.ThrowIfNull(create);
        _create = create;
        _onStack = create(stackQueues, stackStorage);
        _binary = binary;
    }

    public string Name => _onStack.Name;

    public string Description => _onStack.Description;

    /// <summary>The process id of this run's Azurite (null when on the stack's), for its CPU samples.</summary>
    public int? AzuritePid { get; private set; }

    /// <summary>Which Azurite the last run used, as written in the report.</summary>
    public string Azurite { get; private set; } = "";

    /// <summary>Starts this run's Azurite; disposing the result kills it (whole process tree).</summary>
    public async Task<IAsyncDisposable> PrepareAsync(Action<string> log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (_binary is null)
        {
            _current = _onStack;
            AzuritePid = null;
            Azurite = "the stack's Azurite (shared by the modes: no Azurite binary under .tools to start one per mode)";
            log($"{Name}: no Azurite binary found (.tools/node_modules/.bin/azurite, installed by ./recon up): using the stack's Azurite, shared with the other modes");
            return await StartInnerAsync(new Nothing(), log, cancellationToken).ConfigureAwait(false);
        }
        var azurite = await AzuriteProcess.StartAsync(_binary, cancellationToken).ConfigureAwait(false);
        var options = SpikeArrivals.QueueOptions();
        _meter.Install(options);
        _current = _create(new QueueServiceClient(azurite.ConnectionString, options), azurite.ConnectionString);
        AzuritePid = azurite.ProcessId;
        Azurite = $"its own Azurite process (in memory, 127.0.0.1:{azurite.BlobPort}-{azurite.BlobPort + 2}), killed when the mode ended";
        log($"{Name}: own Azurite pid {azurite.ProcessId} on 127.0.0.1:{azurite.BlobPort}-{azurite.BlobPort + 2}");
        return await StartInnerAsync(azurite, log, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts the mode's own before-the-clock work (the product's workers) on this Azurite; disposing the result
    /// undoes that first, then <paramref name="storage"/>.</summary>
    private async Task<IAsyncDisposable> StartInnerAsync(IAsyncDisposable storage, Action<string> log, CancellationToken cancellationToken)
    {
        if (_current is not ISpikeModeLifecycle inner)
        {
            return storage;
        }
        try
        {
            return new Both(await inner.StartAsync(log, cancellationToken).ConfigureAwait(false), storage);
        }
        catch
        {
            await storage.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public Task<IAsyncDisposable> StartAsync(Action<string> log, CancellationToken cancellationToken) => PrepareAsync(log, cancellationToken);

    public SpikeRunResult Complete(SpikeRunResult result) => _current is ISpikeModeLifecycle inner ? inner.Complete(result) : result;

    public Task SampleIdleAsync(Action<string> log, CancellationToken cancellationToken)
        => _current is ISpikeModeCost inner ? inner.SampleIdleAsync(log, cancellationToken) : Task.CompletedTask;

    public (Cost.SpikeCounts Counts, Cost.IdleProfile Idle) CostInputs(SpikeRunResult result, Cost.AzurePriceBook prices)
        => _current is ISpikeModeCost inner
            ? inner.CostInputs(result, prices)
            : throw new InvalidOperationException($"{Name}: the mode has no cost inputs ({_current?.GetType().Name ?? "not prepared"})");

    /// <summary>Runs the mode with every queue call on its own Azurite timed into <paramref name="recorder"/>.</summary>
    public async Task RunAsync(IReadOnlyList<SpikeJob> jobs, SpikeRecorder recorder, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var mode = _current ?? throw new InvalidOperationException("PrepareAsync first: it starts the mode's Azurite");
        _meter.Attach(recorder);
        try
        {
            await mode.RunAsync(jobs, recorder, deadline, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _meter.Attach(null);
        }
    }

    private sealed class Both(IAsyncDisposable first, IAsyncDisposable then) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await first.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                await then.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private sealed class Nothing : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
