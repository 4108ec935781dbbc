using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Recon.Tests.Deploy;

/// <summary>
/// What the deployment must never lose. Each check returns its violations (empty when fine), so the tamper tests can
/// prove every check fires on a template that breaks it.
/// </summary>
public static partial class DeploymentChecks
{
    /// <summary>
    /// Durable Functions' documented default for maxConcurrentActivityFunctions on the Consumption plan, used only if
    /// neither the app settings nor host.json set it (the bicep always sets it).
    /// </summary>
    public const int DefaultMaxConcurrentActivityFunctions = 10;

    public const string ActivitySetting = "AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions";

    // App settings that identify rather than authenticate. The Application Insights connection string carries the
    // component's ingestion key, which Microsoft documents as not a secret; the authentication string names a client id.
    private static readonly HashSet<string> NotSecretSettings = new(StringComparer.Ordinal)
    {
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        // names the kind of credential ("managedidentity"), not a credential
        "AzureWebJobsStorage__credential",
    };

    public static IReadOnlyList<string> PgBouncer(DeploymentSnapshot s)
    {
        var errors = new List<string>();
        var config = s.OfType("Microsoft.DBforPostgreSQL/flexibleServers/configurations")
            .ToDictionary(DeploymentSnapshot.ShortName, c => c.GetProperty("properties").GetProperty("value").GetString() ?? "", StringComparer.Ordinal);
        Expect(errors, config, "pgbouncer.enabled", v => v.Equals("true", StringComparison.OrdinalIgnoreCase), "true");
        Expect(errors, config, "pgbouncer.pool_mode", v => v.Equals("TRANSACTION", StringComparison.OrdinalIgnoreCase), "TRANSACTION");
        Expect(errors, config, "pgbouncer.default_pool_size", v => int.TryParse(v, CultureInfo.InvariantCulture, out var n) && n > 0, "a positive integer");
        Expect(errors, config, "pgbouncer.max_client_conn", v => int.TryParse(v, CultureInfo.InvariantCulture, out var n) && n > 0, "a positive integer");
        var server = s.Single("Microsoft.DBforPostgreSQL/flexibleServers");
        if (server.GetProperty("sku").GetProperty("tier").GetString() == "Burstable")
        {
            errors.Add("the PostgreSQL server is Burstable, where the built-in PgBouncer is not available");
        }
        return errors;
    }

    public static IReadOnlyList<string> Storage(DeploymentSnapshot s)
    {
        var errors = new List<string>();
        foreach (var account in s.OfType("Microsoft.Storage/storageAccounts"))
        {
            var p = account.GetProperty("properties");
            if (!p.TryGetProperty("allowSharedKeyAccess", out var shared) || shared.ValueKind != JsonValueKind.False)
            {
                errors.Add($"storage account {DeploymentSnapshot.ShortName(account)}: allowSharedKeyAccess must be false");
            }
        }
        if (s.OfType("Microsoft.Storage/storageAccounts/queueServices").Count == 0)
        {
            errors.Add("no queue service: Durable Task and Recon's priority queues need queues");
        }
        if (s.OfType("Microsoft.Storage/storageAccounts/tableServices").Count == 0)
        {
            errors.Add("no table service: Durable Task keeps history and instances in tables");
        }
        var queues = s.OfType("Microsoft.Storage/storageAccounts/queueServices/queues").Select(DeploymentSnapshot.ShortName).ToHashSet();
        foreach (var q in new[] { "recon-ingest", "recon-high", "recon-low" })
        {
            if (!queues.Contains(q))
            {
                errors.Add($"queue {q} is not created");
            }
        }
        return errors;
    }

    public static IReadOnlyList<string> IdentityBasedStorage(DeploymentSnapshot s)
    {
        var errors = new List<string>();
        var settings = s.AppSettings();
        if (settings.ContainsKey("AzureWebJobsStorage"))
        {
            errors.Add("AzureWebJobsStorage is set: it is a connection string; use AzureWebJobsStorage__accountName with the identity");
        }
        ExpectSetting(errors, settings, "AzureWebJobsStorage__credential", v => v == "managedidentity", "managedidentity");
        ExpectSetting(errors, settings, "AzureWebJobsStorage__accountName", v => v.Length > 0, "the storage account name");
        ExpectSetting(errors, settings, "AzureWebJobsStorage__clientId", v => v.Length > 0, "the user-assigned identity's client id");
        var site = s.Single("Microsoft.Web/sites");
        var auth = site.GetProperty("properties").GetProperty("functionAppConfig").GetProperty("deployment").GetProperty("storage").GetProperty("authentication");
        if (auth.GetProperty("type").GetString() != "UserAssignedIdentity")
        {
            errors.Add("the Flex deployment storage must authenticate with the user-assigned identity");
        }
        return errors;
    }

    public static IReadOnlyList<string> SecretsOnlyThroughKeyVault(DeploymentSnapshot s)
    {
        var errors = new List<string>();
        var definedSecrets = s.OfType("Microsoft.KeyVault/vaults/secrets").Select(DeploymentSnapshot.ShortName).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, value) in s.AppSettings())
        {
            var reference = KeyVaultReference().Match(value);
            if (reference.Success)
            {
                var secret = reference.Groups["secret"].Value;
                if (!definedSecrets.Contains(secret))
                {
                    errors.Add($"{name} references Key Vault secret '{secret}', which the template does not define");
                }
                continue;
            }
            if (LooksSecret(name) && !NotSecretSettings.Contains(name))
            {
                errors.Add($"{name} holds a plain value; secrets must be @Microsoft.KeyVault(...) references");
            }
            if (SecretText().IsMatch(value))
            {
                errors.Add($"{name} contains secret material in plain text");
            }
        }
        if (!s.AppSettings().Values.Any(v => KeyVaultReference().IsMatch(v)))
        {
            errors.Add("no app setting is a Key Vault reference");
        }
        return errors;
    }

    /// <summary>
    /// instances x maxConcurrentActivityFunctions x connections-per-activity &lt;= PgBouncer max_client_conn, with the
    /// larger of the app setting and host.json's value (the app setting wins in Azure; host.json runs everywhere else).
    /// </summary>
    public static IReadOnlyList<string> ConnectionBudget(DeploymentSnapshot s, int? hostJsonActivities)
    {
        var errors = new List<string>();
        var site = s.Single("Microsoft.Web/sites");
        var instances = site.GetProperty("properties").GetProperty("functionAppConfig").GetProperty("scaleAndConcurrency")
            .GetProperty("maximumInstanceCount").GetInt32();
        var settings = s.AppSettings();
        int? settingActivities = settings.TryGetValue(ActivitySetting, out var a) ? int.Parse(a, CultureInfo.InvariantCulture) : null;
        if (settingActivities is null)
        {
            errors.Add($"{ActivitySetting} is not set, so the host's default (not the budget) decides the activity count");
        }
        var activities = Math.Max(settingActivities ?? DefaultMaxConcurrentActivityFunctions, hostJsonActivities ?? 0);
        var perActivity = s.IntParameter("dbConnectionsPerActivity");
        var maxClientConn = int.Parse(
            s.OfType("Microsoft.DBforPostgreSQL/flexibleServers/configurations").Single(c => DeploymentSnapshot.ShortName(c) == "pgbouncer.max_client_conn")
                .GetProperty("properties").GetProperty("value").GetString()!, CultureInfo.InvariantCulture);
        var demand = (long)instances * activities * perActivity;
        if (demand > maxClientConn)
        {
            errors.Add($"{s.ParamFile}: {instances} instances x {activities} activities x {perActivity} connections = {demand} > max_client_conn {maxClientConn}");
        }
        // each instance's Npgsql pool is its share of the budget, no more
        if (settings.TryGetValue("Recon__Database__MaxConcurrentOperations", out var pool)
            && int.Parse(pool, CultureInfo.InvariantCulture) > activities * perActivity)
        {
            errors.Add($"Recon__Database__MaxConcurrentOperations {pool} exceeds the per-instance share {activities * perActivity}");
        }
        return errors;
    }

    /// <summary>maxConcurrentActivityFunctions from Recon.Functions/host.json, when it sets one.</summary>
    public static int? HostJsonMaxConcurrentActivities(string repositoryRoot)
    {
        var file = Path.Combine(repositoryRoot, "Recon.Functions", "host.json");
        if (!File.Exists(file))
        {
            return null;
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(file), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        return doc.RootElement.TryGetProperty("extensions", out var ext)
            && ext.TryGetProperty("durableTask", out var dt)
            && dt.TryGetProperty("maxConcurrentActivityFunctions", out var v)
            ? v.GetInt32()
            : null;
    }

    private static bool LooksSecret(string name)
        => SecretName().IsMatch(name.Replace("_", "", StringComparison.Ordinal));

    private static void Expect(List<string> errors, Dictionary<string, string> config, string name, Func<string, bool> ok, string want)
    {
        if (!config.TryGetValue(name, out var value))
        {
            errors.Add($"server parameter {name} is not set (want {want})");
        }
        else if (!ok(value))
        {
            errors.Add($"server parameter {name} is '{value}' (want {want})");
        }
    }

    private static void ExpectSetting(List<string> errors, IReadOnlyDictionary<string, string> settings, string name, Func<string, bool> ok, string want)
    {
        if (!settings.TryGetValue(name, out var value) || !ok(value))
        {
            errors.Add($"app setting {name} must be {want}");
        }
    }

    // "@Microsoft.KeyVault(SecretUri=.../secrets/NAME/)" literally, or the snapshot's unevaluated
    // "[format('@Microsoft.KeyVault(SecretUri={0}secrets/{1}/)', <vault uri>, 'NAME')]".
    [GeneratedRegex(@"^(?:@Microsoft\.KeyVault\(.*secrets/(?<secret>[A-Za-z0-9-]+)/?\)|\[format\('@Microsoft\.KeyVault\(SecretUri=\{0\}secrets/\{1\}/\)', .*, '(?<secret>[A-Za-z0-9-]+)'\)\])$")]
    private static partial Regex KeyVaultReference();

    [GeneratedRegex("(?i)(key|secret|password|credential|connectionstring|configuration|token)")]
    private static partial Regex SecretName();

    [GeneratedRegex(@"(?i)(password=|accountkey=|sharedaccesskey|sharedaccesssignature|\bsk_(live|test)_|listkeys\()")]
    private static partial Regex SecretText();
}
