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
    private readonly AzureStorageOrchestrationService _service;
    private readonly TaskHubWorker _worker;
    private bool _started;

    public DurableHost(DurableHostOptions options, DurableRegistry registry, IServiceProvider services, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(registry);
        Options = options;
        ValidateHubName(options.TaskHubName);
        var settings = new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = options.TaskHubName,
            StorageAccountClientProvider = new StorageAccountClientProvider(options.StorageConnectionString),
            WorkItemQueueVisibilityTimeout = options.WorkItemVisibilityTimeout,
            ControlQueueVisibilityTimeout = options.ControlVisibilityTimeout,
            MaxConcurrentTaskActivityWorkItems = options.MaxConcurrentActivities,
            MaxConcurrentTaskOrchestrationWorkItems = options.MaxConcurrentOrchestrations,
            PartitionCount = options.PartitionCount,
            MaxQueuePollingInterval = options.MaxQueuePollingInterval,
            LoggerFactory = loggerFactory,
        };
        _service = new AzureStorageOrchestrationService(settings);

        var workerOptions = new DurableTaskWorkerOptions();
        var factory = new DurableTaskShimFactory(workerOptions, loggerFactory);
        _worker = new TaskHubWorker(
            _service,
            new ShimOrchestrationManager(registry, factory, services),
            new ShimActivityManager(registry, factory, services),
            loggerFactory)
        {
            ErrorPropagationMode = ErrorPropagationMode.UseFailureDetails,
        };
        Client = new TaskHubClient(_service, new SystemTextJsonDataConverter(workerOptions.DataConverter), loggerFactory);
    }

    public DurableHostOptions Options { get; }

    /// <summary>Starts, queries and raises events on orchestrations of this hub.</summary>
    public TaskHubClient Client { get; }

    /// <summary>Creates the hub's queues and tables if needed and starts processing.</summary>
    public async Task StartAsync()
    {
        await _service.CreateIfNotExistsAsync().ConfigureAwait(false);
        await _worker.StartAsync().ConfigureAwait(false);
        _started = true;
    }

    /// <summary>Stops taking work and waits for what is running (<paramref name="graceful"/>).</summary>
    public async Task StopAsync(bool graceful = true)
    {
        if (_started)
        {
            _started = false;
            await _worker.StopAsync(!graceful).ConfigureAwait(false);
        }
    }

    /// <summary>Removes the hub's queues and tables (tests: each test has its own hub).</summary>
    public Task DeleteHubAsync() => _service.DeleteAsync();

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _worker.Dispose();
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
