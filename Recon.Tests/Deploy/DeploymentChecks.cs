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

    // Connection settings whose name sounds secret but which carry none since the app signs in to PostgreSQL and Redis
    // with its identity (an Entra token is the password). They may be plain, but only while SecretText finds nothing in
    // them: a "Password=" or "password=" creeping back is still reported as secret material in plain text.
    private static readonly HashSet<string> PlainWhenSecretFree = new(StringComparer.Ordinal)
    {
        "Recon__Database__ConnectionString",
        "Recon__Redis__Configuration",
    };

    /// <summary>Recon's queues; each also needs its "-poison" queue, where the host moves a message after maxDequeueCount.</summary>
    public static readonly IReadOnlyList<string> Queues = ["recon-ingest", "recon-high", "recon-low"];

    /// <summary>The lowest Flex Consumption maximumInstanceCount every region accepts (the floor before lower caps rolled out).</summary>
    public const int FlexMinimumInstanceCap = 40;

    /// <summary>Settings the app reads (the contract with Recon.Functions); all must be present.</summary>
    public static readonly IReadOnlyList<string> ContractSettings =
    [
        "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", ActivitySetting,
        "Recon__Database__MaxConcurrentOperations", "Recon__Storage__QueueServiceUri",
        "Recon__Identity__ClientId", "Recon__Identity__PrincipalId",
        "Recon__Database__ConnectionString", "Recon__Redis__Configuration",
        "Recon__ConnectionBudget__MaxInstances", "Recon__ConnectionBudget__MaxConcurrentActivities",
        "Recon__ConnectionBudget__ConnectionsPerActivity", "Recon__ConnectionBudget__PgBouncerMaxClientConnections",
        "Recon__ConnectionBudget__PgBouncerDefaultPoolSize",
        "Recon__Providers__Stripe__ApiKey", "Recon__Providers__Plaid__ClientId", "Recon__Providers__Plaid__Secret",
    ];

    private static readonly string[] Banks = ["BankA", "BankB"];

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
        foreach (var q in Queues.SelectMany(q => new[] { q, $"{q}-poison" }))
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
            if (LooksSecret(name) && !NotSecretSettings.Contains(name) && !PlainWhenSecretFree.Contains(name))
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
        // the app checks the budget again at start from these settings: they must describe what is deployed
        var defaultPool = s.OfType("Microsoft.DBforPostgreSQL/flexibleServers/configurations")
            .Single(c => DeploymentSnapshot.ShortName(c) == "pgbouncer.default_pool_size").GetProperty("properties").GetProperty("value").GetString();
        var deployed = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Recon__ConnectionBudget__MaxInstances"] = instances.ToString(CultureInfo.InvariantCulture),
            ["Recon__ConnectionBudget__MaxConcurrentActivities"] = settingActivities?.ToString(CultureInfo.InvariantCulture),
            ["Recon__ConnectionBudget__ConnectionsPerActivity"] = perActivity.ToString(CultureInfo.InvariantCulture),
            ["Recon__ConnectionBudget__PgBouncerMaxClientConnections"] = maxClientConn.ToString(CultureInfo.InvariantCulture),
            ["Recon__ConnectionBudget__PgBouncerDefaultPoolSize"] = defaultPool,
        };
        foreach (var (name, want) in deployed)
        {
            if (!settings.TryGetValue(name, out var have))
            {
                errors.Add($"{name} is not set, so the app cannot check the deployed budget ({want})");
            }
            else if (have != want)
            {
                errors.Add($"{name} is {have}, but the deployment has {want}");
            }
        }
        if (instances < FlexMinimumInstanceCap)
        {
            errors.Add($"maximumInstanceCount {instances} is below {FlexMinimumInstanceCap}, the lowest cap every Flex Consumption region accepts");
        }
        return errors;
    }

    /// <summary>
    /// PostgreSQL takes Entra ID sign-ins only, the app's identity is an Entra administrator (by name and object id),
    /// and no password is declared anywhere on the server.
    /// </summary>
    public static IReadOnlyList<string> PostgresEntraOnly(DeploymentSnapshot s)
    {
        var errors = new List<string>();
        var server = s.Single("Microsoft.DBforPostgreSQL/flexibleServers").GetProperty("properties");
        var auth = server.TryGetProperty("authConfig", out var a) ? a : default;
        if (auth.ValueKind != JsonValueKind.Object || Text(auth, "passwordAuth") != "Disabled")
        {
            errors.Add("PostgreSQL passwordAuth must be Disabled: the app signs in with its identity, so no password may exist");
        }
        if (auth.ValueKind != JsonValueKind.Object || Text(auth, "activeDirectoryAuth") != "Enabled")
        {
            errors.Add("PostgreSQL activeDirectoryAuth must be Enabled");
        }
        if (server.TryGetProperty("administratorLoginPassword", out _) || server.TryGetProperty("administratorLogin", out _))
        {
            errors.Add("PostgreSQL declares a password administrator (administratorLogin/administratorLoginPassword)");
        }
        var identity = s.Identity;
        var identityId = identity.GetProperty("id").GetString()!;
        var identityName = identity.GetProperty("name").GetString()!;
        var appAdmin = s.OfType("Microsoft.DBforPostgreSQL/flexibleServers/administrators").Any(admin =>
            ArmExpression.RefersTo(admin.GetProperty("name").GetString()!, identityId, "principalId")
            && Text(admin.GetProperty("properties"), "principalType") == "ServicePrincipal"
            && Text(admin.GetProperty("properties"), "principalName") == identityName);
        if (!appAdmin)
        {
            errors.Add($"no PostgreSQL Entra administrator for the app identity ({identityName}: ServicePrincipal, named after the identity, its principal id as the resource name)");
        }
        return errors;
    }

    /// <summary>
    /// Redis is Azure Managed Redis (redisEnterprise) with access keys off, TLS only on port 10000, and the "default"
    /// access policy assigned to the app's identity; no Azure Cache for Redis is left.
    /// </summary>
    public static IReadOnlyList<string> ManagedRedis(DeploymentSnapshot s)
    {
        var errors = new List<string>();
        if (s.OfType("Microsoft.Cache/redis").Count > 0)
        {
            errors.Add("an Azure Cache for Redis (Microsoft.Cache/redis) is deployed; Recon uses Azure Managed Redis (Microsoft.Cache/redisEnterprise)");
        }
        if (s.OfType("Microsoft.Cache/redisEnterprise").Count != 1)
        {
            errors.Add("expected one Azure Managed Redis cluster (Microsoft.Cache/redisEnterprise)");
        }
        var databases = s.OfType("Microsoft.Cache/redisEnterprise/databases");
        if (databases.Count != 1)
        {
            errors.Add("expected one Managed Redis database");
        }
        foreach (var db in databases)
        {
            var p = db.GetProperty("properties");
            if (Text(p, "accessKeysAuthentication") != "Disabled")
            {
                errors.Add("Managed Redis accessKeysAuthentication must be Disabled: the app signs in with its identity, so no key may work");
            }
            if (Text(p, "clientProtocol") != "Encrypted")
            {
                errors.Add("Managed Redis clientProtocol must be Encrypted (TLS)");
            }
            if (!p.TryGetProperty("port", out var port) || port.GetInt32() != 10000)
            {
                errors.Add("Managed Redis must listen on 10000, the port in Recon__Redis__Configuration");
            }
        }
        var identityId = s.Identity.GetProperty("id").GetString()!;
        var assigned = s.OfType("Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments").Any(x =>
            Text(x.GetProperty("properties"), "accessPolicyName") == "default"
            && x.GetProperty("properties").TryGetProperty("user", out var user)
            && ArmExpression.RefersTo(Text(user, "objectId") ?? "", identityId, "principalId"));
        if (!assigned)
        {
            errors.Add("no Managed Redis access policy assignment ('default') for the app identity's principal id");
        }
        return errors;
    }

    /// <summary>
    /// What the network lets in. Always: no PostgreSQL firewall rule beyond Azure's own 0.0.0.0 rule. With
    /// privateNetworking: no firewall rule at all, public access off on PostgreSQL, Redis, storage and Key Vault, the
    /// app integrated with a subnet delegated to Microsoft.App/environments, and a private endpoint with a DNS zone
    /// group for each service the app calls.
    /// </summary>
    public static IReadOnlyList<string> NetworkExposure(DeploymentSnapshot s)
    {
        var errors = new List<string>();
        var isPrivate = s.BoolParameter("privateNetworking");
        foreach (var rule in s.OfType("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"))
        {
            var p = rule.GetProperty("properties");
            var range = $"{Text(p, "startIpAddress")}-{Text(p, "endIpAddress")}";
            if (isPrivate)
            {
                errors.Add($"PostgreSQL firewall rule {DeploymentSnapshot.ShortName(rule)} ({range}) with private networking on: the app comes through the private endpoint, nothing else may");
            }
            else if (range != "0.0.0.0-0.0.0.0")
            {
                errors.Add($"PostgreSQL firewall rule {DeploymentSnapshot.ShortName(rule)} opens {range}; only Azure's own rule (0.0.0.0) is allowed");
            }
        }
        if (!isPrivate)
        {
            return errors;
        }

        ExpectDisabled(errors, "PostgreSQL", s.Single("Microsoft.DBforPostgreSQL/flexibleServers").GetProperty("properties").GetProperty("network"));
        ExpectDisabled(errors, "Managed Redis", s.Single("Microsoft.Cache/redisEnterprise").GetProperty("properties"));
        ExpectDisabled(errors, "Key Vault", s.Single("Microsoft.KeyVault/vaults").GetProperty("properties"));
        foreach (var account in s.OfType("Microsoft.Storage/storageAccounts"))
        {
            var p = account.GetProperty("properties");
            ExpectDisabled(errors, $"storage account {DeploymentSnapshot.ShortName(account)}", p);
            if (!p.TryGetProperty("networkAcls", out var acls) || Text(acls, "defaultAction") != "Deny")
            {
                errors.Add($"storage account {DeploymentSnapshot.ShortName(account)}: networkAcls.defaultAction must be Deny");
            }
        }

        var site = s.Single("Microsoft.Web/sites").GetProperty("properties");
        var subnetId = Text(site, "virtualNetworkSubnetId") ?? "";
        var delegated = s.OfType("Microsoft.Network/virtualNetworks").SelectMany(vnet =>
                vnet.GetProperty("properties").GetProperty("subnets").EnumerateArray()
                    .Where(sub => sub.TryGetProperty("properties", out var sp) && sp.TryGetProperty("delegations", out var d)
                        && d.EnumerateArray().Any(x => Text(x.GetProperty("properties"), "serviceName") == "Microsoft.App/environments"))
                    .Select(sub => $"{vnet.GetProperty("id").GetString()}/subnets/{sub.GetProperty("name").GetString()}"))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (subnetId.Length == 0)
        {
            errors.Add("the Function App has no virtualNetworkSubnetId: without VNet integration it cannot reach the private endpoints");
        }
        else if (!delegated.Contains(subnetId))
        {
            errors.Add($"the Function App's subnet {subnetId} is not a subnet of this deployment delegated to Microsoft.App/environments");
        }

        var targets = new (string GroupId, string Type)[]
        {
            ("postgresqlServer", "Microsoft.DBforPostgreSQL/flexibleServers"),
            ("redisEnterprise", "Microsoft.Cache/redisEnterprise"),
            ("blob", "Microsoft.Storage/storageAccounts"),
            ("queue", "Microsoft.Storage/storageAccounts"),
            ("table", "Microsoft.Storage/storageAccounts"),
            ("vault", "Microsoft.KeyVault/vaults"),
        };
        var endpoints = s.OfType("Microsoft.Network/privateEndpoints");
        var zoneGroups = s.OfType("Microsoft.Network/privateEndpoints/privateDnsZoneGroups").Select(g => g.GetProperty("name").GetString()!.Split('/')[0]).ToHashSet();
        foreach (var (groupId, type) in targets)
        {
            var serviceId = s.Single(type).GetProperty("id").GetString();
            var endpoint = endpoints.FirstOrDefault(e => e.GetProperty("properties").GetProperty("privateLinkServiceConnections").EnumerateArray().Any(c =>
                Text(c.GetProperty("properties"), "privateLinkServiceId") == serviceId
                && c.GetProperty("properties").GetProperty("groupIds").EnumerateArray().Any(g => g.GetString() == groupId)));
            if (endpoint.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"no private endpoint for {type} ({groupId})");
            }
            else if (!zoneGroups.Contains(endpoint.GetProperty("name").GetString()!))
            {
                errors.Add($"private endpoint {endpoint.GetProperty("name").GetString()} has no private DNS zone group, so the service's name still resolves to its public address");
            }
        }
        var zones = s.OfType("Microsoft.Network/privateDnsZones").Count;
        var links = s.OfType("Microsoft.Network/privateDnsZones/virtualNetworkLinks").Count;
        if (zones < 6 || links < zones)
        {
            errors.Add($"{zones} private DNS zones with {links} virtual network links: every zone must be linked to the network");
        }
        return errors;
    }

    /// <summary>
    /// The settings the app reads have the names and shapes it expects: identity ids, a PgBouncer connection string
    /// and a Redis configuration that carry no secret, and no settings the app no longer reads.
    /// </summary>
    public static IReadOnlyList<string> AppSettingsContract(DeploymentSnapshot s)
    {
        var errors = new List<string>();
        var settings = s.AppSettings();
        foreach (var name in ContractSettings.Where(n => !settings.ContainsKey(n)))
        {
            errors.Add($"app setting {name} is missing");
        }
        if (settings.ContainsKey("Recon__Storage__ClientId"))
        {
            errors.Add("Recon__Storage__ClientId is set; the app reads the identity from Recon__Identity__ClientId");
        }
        var identity = s.Identity;
        var identityId = identity.GetProperty("id").GetString()!;
        var identityName = identity.GetProperty("name").GetString()!;
        ExpectSetting(errors, settings, "Recon__Identity__ClientId", v => ArmExpression.RefersTo(v, identityId, "clientId"), "the app identity's client id");
        ExpectSetting(errors, settings, "Recon__Identity__PrincipalId", v => ArmExpression.RefersTo(v, identityId, "principalId"), "the app identity's principal id");

        if (settings.TryGetValue("Recon__Database__ConnectionString", out var cs))
        {
            var parts = ArmExpression.Render(cs).Split(';', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => p.Split('=', 2))
                .ToDictionary(p => p[0].Trim(), p => p.Length > 1 ? p[1].Trim() : "", StringComparer.OrdinalIgnoreCase);
            var share = settings.TryGetValue(ActivitySetting, out var act) && int.TryParse(act, CultureInfo.InvariantCulture, out var n)
                ? (n * s.IntParameter("dbConnectionsPerActivity")).ToString(CultureInfo.InvariantCulture)
                : "?";
            var server = s.Single("Microsoft.DBforPostgreSQL/flexibleServers").GetProperty("id").GetString()!;
            var want = new (string Key, Func<string, bool> Ok, string Shape)[]
            {
                ("Host", v => ArmExpression.RefersTo(v, server, "fullyQualifiedDomainName"), "the server's host name"),
                ("Port", v => v == "6432", "6432 (PgBouncer)"),
                ("Database", v => v == "recon", "recon"),
                ("Username", v => v == identityName, $"the identity's name, {identityName}"),
                ("SSL Mode", v => v == "Require", "Require"),
                ("Max Auto Prepare", v => v == "0", "0 (transaction pooling)"),
                ("No Reset On Close", v => v.Equals("true", StringComparison.OrdinalIgnoreCase), "true (transaction pooling)"),
                ("Maximum Pool Size", v => v == share, $"{share}, the instance's share of the budget"),
            };
            foreach (var (key, ok, shape) in want)
            {
                if (!parts.TryGetValue(key, out var v) || !ok(v))
                {
                    errors.Add($"Recon__Database__ConnectionString: {key} must be {shape}");
                }
            }
            if (parts.ContainsKey("Password"))
            {
                errors.Add("Recon__Database__ConnectionString has a Password: the app presents an Entra token instead");
            }
        }
        if (settings.TryGetValue("Recon__Redis__Configuration", out var redis))
        {
            var cluster = s.OfType("Microsoft.Cache/redisEnterprise").Select(c => c.GetProperty("id").GetString()!).FirstOrDefault() ?? "?";
            // commas inside «expression» (reference's arguments) do not separate options
            var options = OptionSeparator().Split(ArmExpression.Render(redis)).Select(o => o.Trim()).ToArray();
            if (!(options[0].EndsWith(":10000", StringComparison.Ordinal) && ArmExpression.RefersTo(options[0], cluster, "hostName")))
            {
                errors.Add("Recon__Redis__Configuration must start with the Managed Redis host name and port 10000");
            }
            foreach (var option in new[] { "ssl=True", "abortConnect=False" }.Where(o => !options.Contains(o, StringComparer.OrdinalIgnoreCase)))
            {
                errors.Add($"Recon__Redis__Configuration must have {option}");
            }
            if (options.Any(o => o.StartsWith("password=", StringComparison.OrdinalIgnoreCase) || o.StartsWith("user=", StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add("Recon__Redis__Configuration has credentials: the app signs in with its identity");
            }
        }
        return errors;
    }

    /// <summary>
    /// A bank is configured only with its base URL: then Recon__Providers__&lt;bank&gt;__BaseUrl holds it and
    /// __ApiKey is a Key Vault reference; without a URL neither is set (the app refuses a credential without a URL).
    /// </summary>
    public static IReadOnlyList<string> BankSettings(DeploymentSnapshot s)
    {
        var errors = new List<string>();
        var settings = s.AppSettings();
        foreach (var bank in Banks)
        {
            var url = s.StringParameter($"bank{bank[^1]}BaseUrl");
            var urlSetting = $"Recon__Providers__{bank}__BaseUrl";
            var keySetting = $"Recon__Providers__{bank}__ApiKey";
            settings.TryGetValue(urlSetting, out var haveUrl);
            var haveKey = settings.TryGetValue(keySetting, out var key);
            if (url.Length == 0)
            {
                if (haveUrl is not null || haveKey)
                {
                    errors.Add($"{bank} has no base URL, yet {(haveKey ? keySetting : urlSetting)} is set (the app refuses a credential without a URL)");
                }
                continue;
            }
            if (haveUrl != url)
            {
                errors.Add($"{urlSetting} must be the bank{bank[^1]}BaseUrl parameter, {url}");
            }
            if (!haveKey || !KeyVaultReference().IsMatch(key!))
            {
                errors.Add($"{keySetting} must be a Key Vault reference when {bank} has a base URL");
            }
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

    private static string? Text(JsonElement e, string property)
        => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static void ExpectDisabled(List<string> errors, string what, JsonElement properties)
    {
        if (Text(properties, "publicNetworkAccess") != "Disabled")
        {
            errors.Add($"{what}: publicNetworkAccess must be Disabled with private networking");
        }
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

    [GeneratedRegex(",(?![^«]*»)")]
    private static partial Regex OptionSeparator();

    [GeneratedRegex("(?i)(key|secret|password|credential|connectionstring|configuration|token)")]
    private static partial Regex SecretName();

    [GeneratedRegex(@"(?i)(password=|accountkey=|sharedaccesskey|sharedaccesssignature|\bsk_(live|test)_|listkeys\()")]
    private static partial Regex SecretText();
}
