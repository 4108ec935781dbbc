using System.Globalization;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Recon.Core.Ingestion;
using Recon.Core.Persistence;
using Recon.Core.Queues;
using Recon.Core.RateLimiting.Redis;

namespace Recon.Core.Hosting;

/// <summary>A configuration that cannot work; the message lists every setting to fix, by name.</summary>
public sealed class ReconConfigurationException(IReadOnlyList<string> problems)
    : Exception("Recon's configuration cannot work; refusing to start." + Environment.NewLine + "- " + string.Join(Environment.NewLine + "- ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// The start-up check of both hosts: every setting the pipeline needs is present and well-formed, and the connection
/// budget fits, so a wrong or missing setting stops the app at once with its name — not at the first message hours later.
/// No network call is made: clients are built, not connected.
/// </summary>
public static class ReconSettings
{
    /// <summary>The Functions host lets an app setting override host.json with this prefix (<c>AzureFunctionsJobHost__…</c>).</summary>
    public const string HostJsonOverrideSection = "AzureFunctionsJobHost";

    /// <summary>Every problem with <paramref name="configuration"/>; empty when it can work.</summary>
    /// <param name="configuration">The app's configuration.</param>
    /// <param name="hostJsonPath">The Functions host's host.json, when this process runs under it.</param>
    public static IReadOnlyList<string> Problems(IConfiguration configuration, string? hostJsonPath = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        var identity = Bind<IdentityOptions>(configuration, IdentityOptions.SectionName);

        var database = Bind<DatabaseOptions>(configuration, DatabaseOptions.SectionName);
        Try(problems, () =>
        {
            var cs = ReconDataSource.BuildConnectionString(database);
            if (string.IsNullOrEmpty(cs.Password) && !identity.IsSet && string.IsNullOrEmpty(cs.Passfile))
            {
                problems.Add($"{DatabaseOptions.SectionName}:ConnectionString has no password and {IdentityOptions.SectionName}:ClientId is empty: set one (Azure: the identity's token is the password).");
            }
        }, "Recon:Database:ConnectionString");

        Try(problems, () => QueueClients.Create(Bind<StorageOptions>(configuration, StorageOptions.SectionName), identity.Credential()), "Recon:Storage");

        Try(problems, () =>
        {
            var redis = RedisConnectionFactory.Options(configuration[RedisConnectionFactory.ConfigurationKey] ?? "");
            if (identity.IsSet && string.IsNullOrEmpty(redis.Password) && string.IsNullOrWhiteSpace(identity.PrincipalId))
            {
                problems.Add($"{IdentityOptions.SectionName}:PrincipalId is empty: Redis Entra ID authentication names the identity by its principal id (env Recon__Identity__PrincipalId).");
            }
        }, RedisConnectionFactory.ConfigurationKey);

        problems.AddRange(ProviderProblems(configuration));

        var activities = HostActivityConcurrency(configuration, hostJsonPath);
        Try(problems, () =>
        {
            // the budget describes the Functions deployment; its per-instance share binds this process's pool only there
            // (Recon.Worker sizes its own pool: locally, and in tests that give it fewer connections)
            var budget = new ConnectionBudget(Bind<ConnectionBudgetOptions>(configuration, ConnectionBudgetOptions.SectionName));
            problems.AddRange(budget.Problems(hostJsonPath is null ? null : database, activities));
        }, ConnectionBudgetOptions.SectionName);

        foreach (var (key, value) in configuration.AsEnumerable())
        {
            // App Service leaves a Key Vault reference it cannot resolve as its literal text
            if (key.StartsWith("Recon:", StringComparison.Ordinal) && value is not null && value.StartsWith("@Microsoft.KeyVault(", StringComparison.Ordinal))
            {
                problems.Add($"{key} is an unresolved Key Vault reference: the app's identity cannot read that secret, or it does not exist.");
            }
        }
        return problems;
    }

    /// <summary>Throws <see cref="ReconConfigurationException"/> naming every problem of <see cref="Problems"/>.</summary>
    public static void EnsureValid(IConfiguration configuration, string? hostJsonPath = null)
    {
        var problems = Problems(configuration, hostJsonPath);
        if (problems.Count > 0)
        {
            throw new ReconConfigurationException(problems);
        }
    }

    /// <summary>
    /// Durable activities one instance runs at once, as the Functions host will see it: the app setting
    /// <c>AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions</c> overrides host.json (bicep sets
    /// it); null outside the Functions host.
    /// </summary>
    public static int? HostActivityConcurrency(IConfiguration configuration, string? hostJsonPath)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var overridden = configuration[$"{HostJsonOverrideSection}:extensions:durableTask:maxConcurrentActivityFunctions"];
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            return int.TryParse(overridden, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                ? n
                : throw new FormatException($"{HostJsonOverrideSection}__extensions__durableTask__maxConcurrentActivityFunctions '{overridden}' is not a whole number.");
        }
        return hostJsonPath is not null && File.Exists(hostJsonPath)
            ? ConnectionBudget.ReadMaxConcurrentActivityFunctions(File.ReadAllText(hostJsonPath))
            : null;
    }

    private static IEnumerable<string> ProviderProblems(IConfiguration configuration)
    {
        var providers = Bind<ProviderOptions>(configuration, ProviderOptions.SectionName);
        const string s = ProviderOptions.SectionName;
        if (!IsHttpUrl(providers.Stripe.ApiBase))
        {
            yield return $"{s}:Stripe:ApiBase '{providers.Stripe.ApiBase}' is not an http(s) URL.";
        }
        if (string.IsNullOrWhiteSpace(providers.Plaid.ClientId) != string.IsNullOrWhiteSpace(providers.Plaid.Secret))
        {
            yield return $"{s}:Plaid:ClientId and {s}:Plaid:Secret go together: set both or neither.";
        }
        if (!IsHttpUrl(providers.Plaid.BaseUrl))
        {
            yield return $"{s}:Plaid:BaseUrl '{providers.Plaid.BaseUrl}' is not an http(s) URL.";
        }
        foreach (var (name, bank) in new[] { ("BankA", providers.BankA), ("BankB", providers.BankB) })
        {
            var hasUrl = !string.IsNullOrWhiteSpace(bank.BaseUrl);
            var hasKey = !string.IsNullOrWhiteSpace(bank.ApiKey);
            if (hasKey && !hasUrl)
            {
                yield return $"{s}:{name}:ApiKey is set but {s}:{name}:BaseUrl is empty: the bank's statements cannot be fetched (env Recon__Providers__{name}__BaseUrl).";
            }
            else if (hasUrl && !IsHttpUrl(bank.BaseUrl))
            {
                yield return $"{s}:{name}:BaseUrl '{bank.BaseUrl}' is not an http(s) URL.";
            }
            else if (hasUrl && !hasKey)
            {
                yield return $"{s}:{name}:BaseUrl is set but {s}:{name}:ApiKey is empty (env Recon__Providers__{name}__ApiKey).";
            }
        }
    }

    private static bool IsHttpUrl(string value) => Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http";

    internal static T Bind<T>(IConfiguration configuration, string section) where T : new()
        => configuration.GetSection(section).Get<T>() ?? new T();

    private static void Try(List<string> problems, Action check, string setting)
    {
        try
        {
            check();
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException or NpgsqlException or KeyNotFoundException)
        {
            problems.Add(ex.Message.Contains(setting, StringComparison.Ordinal) ? ex.Message : $"{setting}: {ex.Message}");
        }
    }
}
