using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Recon.Core.Domain;
using Recon.Core.Hosting;
using Recon.Core.Ingestion;
using Recon.Core.Ingestion.Banks;
using Recon.Core.Ingestion.Plaid;
using Recon.Core.Ingestion.Stripe;
using Recon.Core.Ledger;
using Recon.Core.Matching;
using Recon.Core.Persistence;
using Recon.Core.Priority;
using Recon.Core.Queues;
using Recon.Core.RateLimiting;
using Recon.Core.RateLimiting.Redis;
using Recon.Core.Review;
using StackExchange.Redis;

namespace Recon.Core.Pipeline;

/// <summary>
/// Everything the pipeline's activities are built from, registered once for both hosts (Recon.Functions and
/// Recon.Worker), so they cannot drift: PostgreSQL through the bulkhead, the priority queues, the Redis token bucket,
/// the provider fetchers, the priority policy, the matcher and the stores.
/// </summary>
public static class PipelineServices
{
    /// <summary>The provider HTTP client's own timeout: above every adapter's 10 s call timeout, so the adapter's
    /// timeout (which names the provider and endpoint) is the one that fires.</summary>
    public static readonly TimeSpan ProviderHttpTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Registers the pipeline's services from <paramref name="configuration"/> (sections <c>Recon:*</c>), the one
    /// intake (<see cref="ReconIntake"/>), the start-up check of every setting (<see cref="ReconSettings"/>, on start) and
    /// the schema migration on start. A provider whose settings are missing gets no fetcher; its batches then fail saying
    /// which setting to add.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The host's configuration.</param>
    /// <param name="hostJsonPath">The Functions host's host.json (its activity concurrency is part of the connection budget); null for Recon.Worker.</param>
    public static IServiceCollection AddReconPipeline(this IServiceCollection services, IConfiguration configuration, string? hostJsonPath = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var database = configuration.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();
        var queues = configuration.GetSection(PriorityQueueOptions.SectionName).Get<PriorityQueueOptions>() ?? new PriorityQueueOptions();
        var dispatcher = configuration.GetSection(DispatcherSettings.SectionName).Get<DispatcherSettings>() ?? new DispatcherSettings();
        var pipeline = configuration.GetSection(PipelineOptions.SectionName).Get<PipelineOptions>() ?? new PipelineOptions();
        var priority = configuration.GetSection(PriorityOptions.SectionName).Get<PriorityOptions>() ?? new PriorityOptions();
        var rateLimits = configuration.GetSection(RateLimitOptions.SectionName).Get<RateLimitOptions>() ?? new RateLimitOptions();

        var providers = configuration.GetSection(ProviderOptions.SectionName).Get<ProviderOptions>() ?? new ProviderOptions();
        if (string.IsNullOrEmpty(configuration[$"{RateLimitOptions.SectionName}:{nameof(RateLimitOptions.StripeMode)}"]) && !string.IsNullOrWhiteSpace(providers.Stripe.ApiKey))
        {
            // the key says which limits Stripe enforces: a test key (and the sandbox's) gets test mode's 25 req/s, never
            // live mode's headroom; an explicit Recon:RateLimits:StripeMode wins
            rateLimits.StripeMode = RateLimitOptions.StripeModeOf(providers.Stripe.ApiKey);
        }
        var identity = configuration.GetSection(IdentityOptions.SectionName).Get<IdentityOptions>() ?? new IdentityOptions();
        var storage = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        var redis = configuration[RedisConnectionFactory.ConfigurationKey] ?? "";
        var credential = identity.Credential();

        services.AddSingleton(database).AddSingleton(queues).AddSingleton(dispatcher).AddSingleton(pipeline).AddSingleton(priority)
            .AddSingleton(rateLimits).AddSingleton(providers).AddSingleton(identity).AddSingleton(storage);
        services.AddSingleton(_ => ReconDataSource.Create(database, credential));
        services.AddSingleton(sp => new DatabaseBulkhead(sp.GetRequiredService<Npgsql.NpgsqlDataSource>(), database));
        services.AddSingleton<BatchStore>();

        services.AddSingleton(_ => QueueClients.Create(storage, credential));
        services.AddSingleton(sp => new PriorityQueueClient(sp.GetRequiredService<QueueServiceClient>(), queues));
        services.AddSingleton<IBatchQueue, PriorityBatchQueue>();
        services.AddSingleton<ReconIntake>();
        services.AddSingleton<RunsIntake>();
        services.AddSingleton<PoisonQueueProbe>();
        // the reconciliation team's side (issue 15): ledger import, review, balances; both hosts answer through these
        services.AddSingleton(configuration.GetSection(ReviewOptions.SectionName).Get<ReviewOptions>() ?? new ReviewOptions());
        services.AddSingleton<LedgerStore>();
        services.AddSingleton<LedgerIntake>();
        services.AddSingleton<ReviewStore>();
        services.AddSingleton<ReviewIntake>();
        services.AddSingleton<Balances.BalanceStore>();
        services.AddSingleton<Reports.ResultStore>();
        services.AddSingleton<Reports.ReportIntake>();

        // connected on first use (the first token acquire), not at start: the start-up check parses its settings instead
        services.AddSingleton<IConnectionMultiplexer>(_ => RedisConnectionFactory.ConnectAsync(redis, credential, identity.PrincipalId).GetAwaiter().GetResult());
        services.AddSingleton<IProviderRateLimiter>(sp => new RedisProviderRateLimiter(sp.GetRequiredService<IConnectionMultiplexer>(), rateLimits));

        // every setting checked when the host starts (before hosted services), naming what is wrong
        services.AddSingleton<IValidateOptions<HostContractOptions>, StartupCheckValidator>();
        services.AddOptions<HostContractOptions>().Configure(o => o.HostJsonPath = hostJsonPath).ValidateOnStart();
        services.AddHostedService<SchemaMigrationOnStart>();

        services.AddSingleton(_ => new HttpClient { Timeout = ProviderHttpTimeout });
        if (!string.IsNullOrWhiteSpace(providers.Stripe.ApiKey))
        {
            services.AddSingleton<IProviderPageFetcher>(sp => new StripePageFetcher(providers.Stripe, sp.GetRequiredService<HttpClient>(), sp.GetRequiredService<IProviderRateLimiter>()));
        }
        if (!string.IsNullOrWhiteSpace(providers.Plaid.ClientId))
        {
            services.AddSingleton<IProviderPageFetcher>(sp => new PlaidPageFetcher(providers.Plaid, sp.GetRequiredService<HttpClient>(), sp.GetRequiredService<IProviderRateLimiter>()));
        }
        foreach (var (name, bank) in new[] { (Providers.BankA, providers.BankA), (Providers.BankB, providers.BankB) })
        {
            if (!string.IsNullOrWhiteSpace(bank.BaseUrl))
            {
                services.AddSingleton<IProviderPageFetcher>(sp => new BankStatementFetcher(name, bank, sp.GetRequiredService<HttpClient>(), sp.GetRequiredService<IProviderRateLimiter>()));
            }
        }

        services.AddSingleton(_ => new PriorityPolicy(priority));
        services.AddSingleton<IBatchValuation, PolicyBatchValuation>();
        services.AddSingleton(_ => MatchRules.FromConfiguration(configuration.GetSection("Recon:Matching")));
        services.AddSingleton<IMatcher>(sp => new Matcher(sp.GetRequiredService<MatchRules>()));
        services.AddSingleton<IPageStore, PostgresPageStore>();
        services.AddSingleton<IBatchPoster, MatchingBatchPoster>();
        services.AddSingleton<IPipelineMetrics, ReconPipelineMetrics>();
        return services;
    }
}
