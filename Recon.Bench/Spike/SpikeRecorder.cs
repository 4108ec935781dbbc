using System.Collections.Concurrent;
using System.Diagnostics;

namespace Recon.Bench.Spike;

/// <summary>What happened to one job.</summary>
public enum JobFate
{
    Pending,
    Completed,
    Failed,
}

/// <summary>Everything one mode's run records, thread-safe; times are seconds since the run started.</summary>
public sealed class SpikeRecorder
{
    private readonly Stopwatch _clock = new();
    private readonly IReadOnlyList<SpikeJob> _jobs;
    private readonly JobFate[] _fates;
    private readonly double[] _doneAt;
    private readonly int[] _completions;
    private readonly int[] _attempts;
    private readonly ConcurrentQueue<(double At, bool Throttled)> _providerAnswers = new();
    private readonly ConcurrentQueue<(double At, string What)> _dbErrors = new();
    private readonly ConcurrentQueue<(double At, int Connections)> _connectionSamples = new();
    private readonly ConcurrentQueue<(double At, int High, int Low)> _backlogSamples = new();
    private readonly ConcurrentQueue<QueueCall> _queueCalls = new();
    private readonly ConcurrentQueue<ResourceSample> _resources = new();
    private int _arrivedHigh;
    private int _arrivedLow;
    private int _finishedHigh;
    private int _finishedLow;
    private int _clientConnections;
    private int _clientConnectionsPeak;

    public SpikeRecorder(IReadOnlyList<SpikeJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        _jobs = jobs;
        _fates = new JobFate[jobs.Count];
        _doneAt = new double[jobs.Count];
        _completions = new int[jobs.Count];
        _attempts = new int[jobs.Count];
    }

    public IReadOnlyList<SpikeJob> Jobs => _jobs;

    public double Now => _clock.Elapsed.TotalSeconds;

    /// <summary>The wall-clock time (Unix seconds) the run started: maps times others recorded (the batches table, the
    /// sandbox's per-second counters) onto this run's clock.</summary>
    public double StartedAtUnixSeconds { get; private set; }

    public void Start()
    {
        StartedAtUnixSeconds = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        _clock.Start();
    }

    /// <summary>Seconds since the run started of the wall-clock time <paramref name="unixSeconds"/>.</summary>
    public double At(double unixSeconds) => unixSeconds - StartedAtUnixSeconds;

    public int InSystem => Volatile.Read(ref _arrivedHigh) + Volatile.Read(ref _arrivedLow) - Volatile.Read(ref _finishedHigh) - Volatile.Read(ref _finishedLow);

    public int Finished => Volatile.Read(ref _finishedHigh) + Volatile.Read(ref _finishedLow);

    public int ClientConnectionsPeak => Volatile.Read(ref _clientConnectionsPeak);

    public void Arrived(SpikeJob job)
    {
        if (job.High)
        {
            Interlocked.Increment(ref _arrivedHigh);
        }
        else
        {
            Interlocked.Increment(ref _arrivedLow);
        }
    }

    public int Attempt(SpikeJob job) => Interlocked.Increment(ref _attempts[job.Index]);

    public void ProviderAnswered(bool throttled) => _providerAnswers.Enqueue((Now, throttled));

    /// <summary>A provider answer someone else saw (the sandbox's counters) at <paramref name="at"/> seconds into the run.</summary>
    public void ProviderAnswered(double at, bool throttled) => _providerAnswers.Enqueue((at, throttled));

    public void DbError(string what) => _dbErrors.Enqueue((Now, what));

    /// <summary>A client-side connection is being opened (the naive mode's demand on the server); returns a scope that closes it.</summary>
    public IDisposable ClientConnection()
    {
        var now = Interlocked.Increment(ref _clientConnections);
        var peak = Volatile.Read(ref _clientConnectionsPeak);
        while (now > peak)
        {
            var seen = Interlocked.CompareExchange(ref _clientConnectionsPeak, now, peak);
            if (seen == peak)
            {
                break;
            }
            peak = seen;
        }
        return new Release(() => Interlocked.Decrement(ref _clientConnections));
    }

    /// <summary>A storage-queue call ended (see <see cref="QueueCallMeter"/>).</summary>
    public void QueueCall(QueueCall call) => _queueCalls.Enqueue(call);

    /// <summary>One second's CPU and load sample (see <see cref="ResourceSampler"/>).</summary>
    public void Resources(ResourceSample sample) => _resources.Enqueue(sample);

    public void ConnectionSample(double at, int connections) => _connectionSamples.Enqueue((at, connections));

    public void SampleBacklog()
    {
        var high = Volatile.Read(ref _arrivedHigh) - Volatile.Read(ref _finishedHigh);
        var low = Volatile.Read(ref _arrivedLow) - Volatile.Read(ref _finishedLow);
        _backlogSamples.Enqueue((Now, high, low));
    }

    /// <summary>The job finished its work; a second completion of the same job is counted, never hidden.</summary>
    public void Completed(SpikeJob job) => Completed(job, Now);

    /// <summary>The job finished at <paramref name="at"/> seconds into the run (as someone else recorded it: the
    /// product's batches table).</summary>
    public void Completed(SpikeJob job, double at)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (Interlocked.Increment(ref _completions[job.Index]) == 1)
        {
            _doneAt[job.Index] = at;
            _fates[job.Index] = JobFate.Completed;
            CountFinished(job);
        }
    }

    /// <summary>The job gave up (attempts exhausted); it stays in the report as failed.</summary>
    public void Failed(SpikeJob job) => Failed(job, Now);

    /// <summary>The job failed at <paramref name="at"/> seconds into the run.</summary>
    public void Failed(SpikeJob job, double at)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (_fates[job.Index] == JobFate.Pending)
        {
            _doneAt[job.Index] = at;
            _fates[job.Index] = JobFate.Failed;
            CountFinished(job);
        }
    }

    private void CountFinished(SpikeJob job)
    {
        if (job.High)
        {
            Interlocked.Increment(ref _finishedHigh);
        }
        else
        {
            Interlocked.Increment(ref _finishedLow);
        }
    }

    public JobFate Fate(SpikeJob job) => _fates[job.Index];

    public double DoneAt(SpikeJob job) => _doneAt[job.Index];

    public int Completions(SpikeJob job) => _completions[job.Index];

    public int Attempts(SpikeJob job) => _attempts[job.Index];

    public IReadOnlyList<(double At, bool Throttled)> ProviderAnswers => [.. _providerAnswers];

    public IReadOnlyList<(double At, string What)> DbErrors => [.. _dbErrors];

    public IReadOnlyList<(double At, int Connections)> ConnectionSamples => [.. _connectionSamples];

    public IReadOnlyList<(double At, int High, int Low)> BacklogSamples => [.. _backlogSamples];

    public IReadOnlyList<QueueCall> QueueCalls => [.. _queueCalls];

    public IReadOnlyList<ResourceSample> ResourceSamples => [.. _resources];

    private sealed class Release(Action release) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                release();
            }
        }
    }
}
