using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask.Worker;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Recon.Worker.Hosting;

/// <summary>
/// Runs Recon's class-based orchestrators and activities on the Durable Task Framework with its Azure Storage
/// backend: the same classes an isolated Functions app runs, without the Functions host.
/// </summary>
public sealed class DurableHost : IAsyncDisposable
{
    private readonly DurableRegistry _registry;
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggerFactory;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private AzureStorageOrchestrationService _service;
    private TaskHubWorker _worker;
    private bool _started;

    /// <summary>How long a rebuild waits for the old worker to stop.</summary>
    private static readonly TimeSpan StopLimit = TimeSpan.FromMinutes(1);

    /// <param name="metrics">Counts this host's episodes, activity executions and storage requests; null counts nothing.</param>
    public DurableHost(DurableHostOptions options, DurableRegistry registry, IServiceProvider services, ILoggerFactory loggerFactory, DurableMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        Options = options;
        ValidateHubName(options.TaskHubName);
        _registry = registry;
        _services = services;
        _loggerFactory = loggerFactory;
        Metrics = metrics;
        (_service, _worker, Client) = Build();
    }

    public DurableHostOptions Options { get; }

    /// <summary>The counters this host feeds (<c>GET /api/metrics/durable</c>), if any.</summary>
    public DurableMetrics? Metrics { get; }

    /// <summary>Starts, queries and raises events on orchestrations of this hub (a new client after <see cref="RecycleAsync"/>).</summary>
    public TaskHubClient Client { get; private set; }

    /// <summary>How often the worker was rebuilt because it had stopped processing (<see cref="RecycleAsync"/>).</summary>
    public int Recycles { get; private set; }

    /// <summary>False before <see cref="StartAsync"/>, after <see cref="StopAsync"/>, and after a rebuild that failed
    /// half way (storage unreachable): the next rebuild starts it again.</summary>
    public bool IsRunning => _started;

    /// <summary>Watches the backend for control messages held in memory and never processed (a wedged worker).</summary>
    public HeldMessageWatch HeldMessages { get; } = new();

    private (AzureStorageOrchestrationService, TaskHubWorker, TaskHubClient) Build()
    {
        var settings = new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = Options.TaskHubName,
            StorageAccountClientProvider = StorageClients(Options.StorageConnectionString, Options.StorageNetworkTimeout, Metrics),
            WorkItemQueueVisibilityTimeout = Options.WorkItemVisibilityTimeout,
            ControlQueueVisibilityTimeout = Options.ControlVisibilityTimeout,
            MaxConcurrentTaskActivityWorkItems = Options.MaxConcurrentActivities,
            MaxConcurrentTaskOrchestrationWorkItems = Options.MaxConcurrentOrchestrations,
            PartitionCount = Options.PartitionCount,
            MaxQueuePollingInterval = Options.MaxQueuePollingInterval,
            PartitionTableOperationTimeout = Options.PartitionTableOperationTimeout,
            LoggerFactory = new WatchingLoggerFactory(_loggerFactory, HeldMessages),
        };
        var service = new AzureStorageOrchestrationService(settings);
        var workerOptions = new DurableTaskWorkerOptions();
        var factory = new DurableTaskShimFactory(workerOptions, _loggerFactory);
        var worker = new TaskHubWorker(
            service,
            new ShimOrchestrationManager(_registry, factory, _services),
            new ShimActivityManager(_registry, factory, _services),
            _loggerFactory)
        {
            ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails,
        };
        Metrics?.Attach(worker);
        return (service, worker, new TaskHubClient(service, new SystemTextJsonDataConverter(workerOptions.DataConverter), _loggerFactory));
    }

    /// <summary>The backend's blob, queue and table clients, each request bounded by <paramref name="networkTimeout"/>
    /// and, with <paramref name="metrics"/>, counted (every try).</summary>
    public static StorageAccountClientProvider StorageClients(string connectionString, TimeSpan networkTimeout, DurableMetrics? metrics = null)
    {
        var blob = new BlobClientOptions();
        var queue = new QueueClientOptions();
        var table = new TableClientOptions();
        blob.Retry.NetworkTimeout = networkTimeout;
        queue.Retry.NetworkTimeout = networkTimeout;
        table.Retry.NetworkTimeout = networkTimeout;
        if (metrics is not null)
        {
            blob.AddPolicy(metrics.StoragePolicy("blob"), HttpPipelinePosition.PerRetry);
            queue.AddPolicy(metrics.StoragePolicy("queue"), HttpPipelinePosition.PerRetry);
            table.AddPolicy(metrics.StoragePolicy("table"), HttpPipelinePosition.PerRetry);
        }
        return new StorageAccountClientProvider(
            StorageServiceClientProvider.ForBlob(connectionString, blob),
            StorageServiceClientProvider.ForQueue(connectionString, queue),
            StorageServiceClientProvider.ForTable(connectionString, table));
    }

    /// <summary>Creates the hub's queues and tables if needed and starts processing.</summary>
    public async Task StartAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            await _service.CreateIfNotExistsAsync().ConfigureAwait(false);
            await _worker.StartAsync().ConfigureAwait(false);
            _started = true;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops taking work and waits for what is running (<paramref name="graceful"/>).</summary>
    public async Task StopAsync(bool graceful = true)
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_started)
            {
                _started = false;
                await _worker.StopAsync(!graceful).ConfigureAwait(false);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Throws away this process's Durable Task worker and its in-memory state (partition ownership, buffered control-queue
    /// messages, sessions) and starts a new one on the same hub; durable state is in storage, so nothing is lost. The
    /// last resort of the dispatcher watch, for a worker that has stopped processing orchestrations altogether (seen under
    /// heavy load on Azurite: after partition-table timeouts, every redelivered control message was dropped as a
    /// "duplicate" of a copy held by a session that never ran again).
    /// </summary>
    public async Task RecycleAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_started)
            {
                _started = false;
                try
                {
                    // a wedged worker may not even stop: it is abandoned after a minute (its lease runs out by itself)
                    await _worker.StopAsync(isForced: true).WaitAsync(StopLimit).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    _loggerFactory.CreateLogger<DurableHost>().LogWarning("The old worker on hub {Hub} did not stop within {Limit}; starting the new one beside it", Options.TaskHubName, StopLimit);
                }
                finally
                {
                    _worker.Dispose();
                }
            }
            (_service, _worker, Client) = Build();
            HeldMessages.Reset();
            await _service.CreateIfNotExistsAsync().ConfigureAwait(false);
            await _worker.StartAsync().ConfigureAwait(false);
            _started = true;
            Recycles++;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Removes the hub's queues and tables (tests: each test has its own hub).</summary>
    public Task DeleteHubAsync() => _service.DeleteAsync();

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _worker.Dispose();
        _lifecycle.Dispose();
    }

    public static void ValidateHubName(string name)
    {
        if (name is null || name.Length is < 3 or > 45 || !name.All(char.IsAsciiLetterOrDigit) || !char.IsAsciiLetter(name[0]))
        {
            throw new OptionsValidationException(DurableHostOptions.SectionName, typeof(DurableHostOptions),
                [$"{DurableHostOptions.SectionName}:TaskHubName '{name}' must be 3–45 ASCII letters and digits, starting with a letter (it names storage queues and tables)."]);
        }
    }
}
