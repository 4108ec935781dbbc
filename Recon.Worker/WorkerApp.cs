using Azure.Core;
using Azure.Storage.Queues;
using DurableTask.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Recon.Core.Hosting;
using Recon.Core.Ledger;
using Recon.Core.Persistence;
using Recon.Core.Pipeline;
using Recon.Core.Queues;
using Recon.Core.Reports;
using Recon.Core.Review;
using Recon.Core.Web;
using Recon.Worker.Hosting;
using Recon.Worker.Pipeline;

namespace Recon.Worker;

/// <summary>
/// The self-hosted pipeline: the Core orchestrators and activities on DTFx + Azure Storage, the recon-ingest listener,
/// and the HTTP start and status endpoints on 127.0.0.1.
/// </summary>
public static class WorkerApp
{
    /// <summary>Builds the app; <paramref name="configureServices"/> may add or replace services (tests).</summary>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices = null, IEnumerable<KeyValuePair<string, string?>>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }
        var port = builder.Configuration.GetValue("Recon:Worker:Port", 7071);
        // loopback only: the worker's HTTP surface is for this machine (the CLI and tests)
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.AddFilter("DurableTask", LogLevel.Warning).AddFilter("Microsoft.DurableTask", LogLevel.Warning).AddFilter("Microsoft.AspNetCore", LogLevel.Warning).AddFilter("Azure", LogLevel.Warning);
        // as Recon.Functions: a registration that cannot be built stops the worker at start (any environment, not only Development)
        builder.Host.UseDefaultServiceProvider(o =>
        {
            o.ValidateOnBuild = true;
            o.ValidateScopes = true;
        });
        // a clean shutdown lets running activities finish (they are bounded by the 10 s provider timeout)
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        AddPipeline(builder.Services, builder.Configuration);
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        MapEndpoints(app);
        return app;
    }

    /// <summary>The Core pipeline services (shared with Recon.Functions) plus this host's Durable Task hub, ingest
    /// listener and batch starter.</summary>
    public static void AddPipeline(IServiceCollection services, IConfiguration configuration)
    {
        services.AddReconPipeline(configuration);
        // every storage request of this process counted (GET /api/metrics/durable): Recon's queue clients get the
        // counting policy here, the Durable backend's clients in DurableHost
        var metrics = new DurableMetrics();
        services.AddSingleton(metrics);
        services.RemoveAll<QueueServiceClient>();
        services.AddSingleton(sp => QueueClients.Create(sp.GetRequiredService<StorageOptions>(), sp.GetRequiredService<IdentityOptions>().Credential(),
            o => o.AddPolicy(metrics.StoragePolicy("queue"), HttpPipelinePosition.PerRetry)));
        var hub = configuration.GetSection(DurableHostOptions.SectionName).Get<DurableHostOptions>() ?? new DurableHostOptions();
        var storage = configuration["Recon:Storage:ConnectionString"];
        if (!string.IsNullOrEmpty(storage))
        {
            hub.StorageConnectionString = storage;
        }
        services.AddSingleton(hub);
        services.AddSingleton(PipelineRegistry.Create());
        services.AddSingleton(sp => new DurableHost(hub, sp.GetRequiredService<DurableRegistry>(), sp, sp.GetRequiredService<ILoggerFactory>(), metrics));
        services.AddSingleton<HubControl>();
        services.AddSingleton<HubStarter>();
        services.AddSingleton<IBatchStarter>(sp => sp.GetRequiredService<HubStarter>());
        services.AddHostedService<DurableHostService>();
        services.AddHostedService<IngestQueueListener>();
        services.AddHostedService<LedgerQueueListener>();
    }

    /// <summary>The same HTTP surface as Recon.Functions, answered by Core's <see cref="ReconIntake"/>.</summary>
    private static void MapEndpoints(WebApplication app)
    {
        app.MapGet("/api/health", () => Results.Ok(new { status = "ok", service = "recon-worker" }));
        // read-only counters of this process (loopback only, changes nothing): what the spike benchmark divides per batch
        app.MapGet("/api/metrics/durable", (DurableMetrics metrics) => Results.Json(metrics.Snapshot(), DurableMetricsJson));
        app.MapPost("/api/reconciliations", async (HttpRequest http, ReconIntake intake, HubControl control, CancellationToken ct) =>
            Write(await intake.StartAsync(control, http.Body, $"{http.Scheme}://{http.Host}/api/reconciliations", ct).ConfigureAwait(false)));
        app.MapGet("/api/reconciliations/{runId}", async (string runId, ReconIntake intake, HubControl control, CancellationToken ct) =>
            Write(await intake.StatusAsync(control, runId, ct).ConfigureAwait(false)));
        app.MapPost("/api/ledger-entries", async (HttpRequest http, LedgerIntake ledger, ReviewOptions review, CancellationToken ct) =>
            Write(await ledger.ImportAsync(http.Body, LocalActor(review), ct).ConfigureAwait(false)));
        app.MapGet("/api/exceptions", async (HttpRequest http, ReviewIntake intake, CancellationToken ct) =>
            Write(await intake.ListExceptionsAsync(QueryOf(http), ct).ConfigureAwait(false)));
        app.MapPost("/api/exceptions/{id}/resolve", async (string id, HttpRequest http, ReviewIntake intake, ReviewOptions review, CancellationToken ct) =>
            Write(await intake.ResolveAsync(id, http.Body, LocalActor(review), ct).ConfigureAwait(false)));
        app.MapPost("/api/matches/confirm", async (HttpRequest http, ReviewIntake intake, ReviewOptions review, CancellationToken ct) =>
            Write(await intake.BulkConfirmAsync(http.Body, LocalActor(review), ct).ConfigureAwait(false)));
        app.MapPost("/api/exceptions/resolve", async (HttpRequest http, ReviewIntake intake, ReviewOptions review, CancellationToken ct) =>
            Write(await intake.BulkResolveAsync(http.Body, LocalActor(review), ct).ConfigureAwait(false)));
        app.MapPost("/api/matches", async (HttpRequest http, ReviewIntake intake, ReviewOptions review, CancellationToken ct) =>
            Write(await intake.MatchAsync(http.Body, LocalActor(review), ct).ConfigureAwait(false)));
        app.MapGet("/api/matches/{provider}/{providerTxId}", async (string provider, string providerTxId, ReviewIntake intake, CancellationToken ct) =>
            Write(await intake.VerdictAsync(provider, providerTxId, ct).ConfigureAwait(false)));
        app.MapDelete("/api/matches/{provider}/{providerTxId}", async (string provider, string providerTxId, HttpRequest http, ReviewIntake intake, ReviewOptions review, CancellationToken ct) =>
            Write(await intake.UnmatchAsync(provider, providerTxId, QueryOf(http), LocalActor(review), ct).ConfigureAwait(false)));
        app.MapGet("/api/balances", async (HttpRequest http, ReportIntake reports, CancellationToken ct) =>
            Write(await reports.BalancesAsync(QueryOf(http), ct).ConfigureAwait(false)));
        app.MapGet("/api/results", async (HttpRequest http, ReportIntake reports, CancellationToken ct) =>
            Write(await reports.ResultsAsync(QueryOf(http), ct).ConfigureAwait(false)));
        app.MapGet("/api/results/export", (HttpRequest http, ReportIntake reports) => Write(reports.Export(QueryOf(http))));
        app.MapGet("/api/reports/daily", async (HttpRequest http, ReportIntake reports, CancellationToken ct) =>
            Write(await reports.DailyAsync(QueryOf(http), ct).ConfigureAwait(false)));
        app.MapGet("/api/reports/runs/{runId}", async (string runId, HttpRequest http, ReportIntake reports, CancellationToken ct) =>
            Write(await reports.RunReportAsync(runId, QueryOf(http), ct).ConfigureAwait(false)));
        app.MapGet("/api/audit", async (HttpRequest http, ReviewIntake intake, CancellationToken ct) =>
            Write(await intake.AuditAsync(QueryOf(http), ct).ConfigureAwait(false)));
        app.MapGet("/api/runs", async (HttpRequest http, RunsIntake runs, CancellationToken ct) =>
            Write(await runs.ListAsync(QueryOf(http), ct).ConfigureAwait(false)));
        app.MapGet("/api/runs/{runId}/report", async (string runId, RunsIntake runs, CancellationToken ct) =>
            Write(await runs.ReportAsync(runId, ct).ConfigureAwait(false)));
        // the web page: the same bytes as the Functions app's /api/ui, and at / for a person opening the worker's address
        app.MapGet("/", (HttpContext http) => Page(http, null));
        app.MapGet(WebPage.Path, (HttpContext http) => Page(http, null));
        app.MapGet(WebPage.Path + "/{file}", (string file, HttpContext http) => Page(http, file));
    }

    /// <summary>snake_case, as the benchmark reports write it.</summary>
    public static System.Text.Json.JsonSerializerOptions DurableMetricsJson { get; } = new() { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower, DictionaryKeyPolicy = null };

    /// <summary>The query string as Core takes it (a repeated key: its last value).</summary>
    internal static Dictionary<string, string?> QueryOf(HttpRequest http)
        => http.Query.ToDictionary(q => q.Key, q => (string?)q.Value.LastOrDefault(), StringComparer.Ordinal);

    /// <summary>Who an action on this host is recorded as: the worker listens on loopback only, so the caller is on this
    /// machine and is the configured <c>Recon:Review:Operator</c>, else the account running the worker.</summary>
    private static string LocalActor(ReviewOptions review) => review.ActorOf(null, Environment.UserName);

    private static IResult Page(HttpContext http, string? file)
    {
        if (WebPage.Find(file) is not { } asset)
        {
            return Results.NotFound(new { error = $"the web page has no file '{file}'" });
        }
        foreach (var (name, value) in WebPage.Headers)
        {
            http.Response.Headers[name] = value;
        }
        http.Response.Headers.ETag = asset.ETag;
        return http.Request.Headers.IfNoneMatch == asset.ETag ? Results.StatusCode(StatusCodes.Status304NotModified) : Results.Bytes(asset.Content, asset.ContentType);
    }

    private static IResult Write(HostReply reply)
        => reply.Body is StreamedBody streamed
            ? new Streamed((int)reply.StatusCode, streamed)
            : reply.Location is null
                ? Results.Json(reply.Body, HostReply.JsonOptions, statusCode: (int)reply.StatusCode)
                : new LocatedJson(reply);

    /// <summary>A CSV or NDJSON answer written as Core produces it (an export is never held in memory).</summary>
    private sealed class Streamed(int status, StreamedBody body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = body.ContentType + "; charset=utf-8";
            if (body.FileName is not null)
            {
                httpContext.Response.Headers.ContentDisposition = $"attachment; filename=\"{body.FileName}\"";
            }
            return body.WriteAsync(httpContext.Response.Body, httpContext.RequestAborted);
        }
    }

    /// <summary>A JSON reply with a Location header (<c>Results.Accepted</c> would not take the body's exact shape and code together with a computed status).</summary>
    private sealed class LocatedJson(HostReply reply) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = reply.Location;
            return Results.Json(reply.Body, HostReply.JsonOptions, statusCode: (int)reply.StatusCode).ExecuteAsync(httpContext);
        }
    }
}

/// <summary>Starts the hub, makes sure the one dispatcher is running (at start and then every
/// <see cref="DurableHostOptions.DispatcherWatchInterval"/>), and stops the hub cleanly on shutdown.</summary>
internal sealed class DurableHostService(DurableHost host, HubStarter starter, DispatcherSettings dispatcher, PriorityQueueClient queue, PoisonQueueProbe poison, ILogger<DurableHostService> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _watch;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await queue.CreateQueuesAsync(cancellationToken).ConfigureAwait(false);
        await host.StartAsync().ConfigureAwait(false);
        await EnsureDispatcherAsync().ConfigureAwait(false);
        if (host.Options.DispatcherWatchInterval > TimeSpan.Zero)
        {
            _watch = WatchAsync(host.Options.DispatcherWatchInterval, _stopping.Token);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_watch is not null)
        {
            await _watch.ConfigureAwait(false);
        }
        await host.StopAsync(graceful: true).ConfigureAwait(false);
    }

    private async Task WatchAsync(TimeSpan interval, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                try
                {
                    if (host.HeldMessages.TakeWedged() is { } held)
                    {
                        logger.LogError("Worker on hub {Hub} holds control messages it does not process ({Held}); rebuilding it", host.Options.TaskHubName, held);
                        await host.RecycleAsync().ConfigureAwait(false);
                    }
                    else if (!host.IsRunning)
                    {
                        // a rebuild that failed half way (storage unreachable) left no worker: try again
                        logger.LogWarning("Worker on hub {Hub} is not running after a failed rebuild; rebuilding it again", host.Options.TaskHubName);
                        await host.RecycleAsync().ConfigureAwait(false);
                    }
                    await EnsureDispatcherAsync().ConfigureAwait(false);
                    await poison.SampleAsync(stopping).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // storage unreachable for a moment: say so and look again at the next tick
                    logger.LogWarning(ex, "Could not check the dispatcher on hub {Hub}; checking again in {Interval}", host.Options.TaskHubName, interval);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private readonly DispatcherGuard _guard = new(TimeSpan.FromSeconds(Math.Max(1, dispatcher.StalledAfterSeconds)));

    /// <summary>
    /// Applies <see cref="DispatcherGuard"/> to the dispatcher: started when absent or ended, asked to terminate when it
    /// has not checkpointed for <see cref="DispatcherSettings.StalledAfterSeconds"/> (then started at a later tick); when
    /// even that terminate has not been processed a whole period later, this process's Durable worker processes no
    /// orchestrations and is rebuilt (<see cref="DurableHost.RecycleAsync"/>).
    /// </summary>
    private async Task EnsureDispatcherAsync()
    {
        var state = await host.Client.GetOrchestrationStateAsync(DispatcherOrchestrator.InstanceId).ConfigureAwait(false);
        switch (_guard.Next(state?.OrchestrationStatus.ToString(), state?.LastUpdatedTime ?? DateTime.MinValue, DateTime.UtcNow))
        {
            case DispatcherStep.Recycle:
                logger.LogError("Dispatcher on hub {Hub} has not checkpointed since {LastUpdated:O} and the terminate asked for was not processed: this worker processes no orchestrations; rebuilding it",
                    host.Options.TaskHubName, state!.LastUpdatedTime);
                await host.RecycleAsync().ConfigureAwait(false);
                break;
            case DispatcherStep.Terminate:
                await starter.TerminateAsync(DispatcherOrchestrator.InstanceId, $"no checkpoint since {state!.LastUpdatedTime:O}; ended by the worker's watch, to be started again").ConfigureAwait(false);
                logger.LogWarning("Dispatcher on hub {Hub} made no progress since {LastUpdated:O}; ended, to be started again", host.Options.TaskHubName, state.LastUpdatedTime);
                break;
            case DispatcherStep.Start
                when await starter.StartReplacingAsync(nameof(DispatcherOrchestrator), DispatcherOrchestrator.InstanceId, OrchestrationStarter.DispatcherInput(dispatcher),
                    state is null ? null : new OrchestrationView(DispatcherOrchestrator.InstanceId, state.OrchestrationStatus.ToString(), state.LastUpdatedTime)).ConfigureAwait(false):
                if (state is null)
                {
                    logger.LogInformation("Dispatcher started on hub {Hub}", host.Options.TaskHubName);
                }
                else
                {
                    logger.LogWarning("Dispatcher on hub {Hub} was {Status}; started again", host.Options.TaskHubName, state.OrchestrationStatus);
                }
                break;
        }
    }
}

/// <summary>Every orchestrator and activity of the pipeline, by class name (the Functions app uses the same names).</summary>
public static class PipelineRegistry
{
    public static DurableRegistry Create()
        => new DurableRegistry()
            .AddOrchestrator<DispatcherOrchestrator>()
            .AddActivity<DispatchBatchesActivity>()
            .AddActivity<RunBatchActivity>();
}
