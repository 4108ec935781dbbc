using System.Text.Json;
using System.Text.RegularExpressions;
using Recon.Core.Telemetry;

namespace Recon.Tests.Deploy;

/// <summary>
/// Compiles and lints every bicep file with the real CLI, then checks the deployment that main.bicep would make for
/// each parameters file (`bicep snapshot`, offline) against what must not regress.
/// </summary>
public sealed partial class BicepTemplateTests(BicepWorkspace workspace) : IClassFixture<BicepWorkspace>
{
    public static TheoryData<string> ParameterFiles => new() { "main.dev.bicepparam", "main.prod.bicepparam" };

    [Fact]
    public void Build_EveryBicepFile_CompilesWithoutErrors()
    {
        var files = Directory.EnumerateFiles(workspace.Directory, "*.bicep", SearchOption.AllDirectories).ToList();
        Assert.True(files.Count >= 10, $"expected main.bicep and its modules, found {files.Count} files");
        var outDir = workspace.PathOf("out");
        // one process for all files (each bicep start costs seconds on a shared machine); --no-restore: no network
        var result = BicepCli.Run(workspace.Directory, "build", "--pattern", "**/*.bicep", "--no-restore", "--outdir", outDir);
        Assert.True(result.ExitCode == 0, $"bicep build failed:\n{result.Output}");
        Assert.Empty(result.Diagnostics("Error"));
        foreach (var file in files)
        {
            var json = Path.Combine(outDir, Path.GetRelativePath(workspace.Directory, Path.ChangeExtension(file, ".json")));
            Assert.True(File.Exists(json), $"no ARM template for {file} at {json}");
            using var template = JsonDocument.Parse(File.ReadAllText(json));
            Assert.True(template.RootElement.TryGetProperty("resources", out _), $"{json} is not an ARM template");
        }
    }

    [Fact]
    public void Lint_EveryBicepFile_ReportsNoErrorsOrWarnings()
    {
        var result = BicepCli.Run(workspace.Directory, "lint", "--pattern", "**/*.bicep", "--no-restore");
        Assert.True(result.ExitCode == 0, $"bicep lint failed:\n{result.Output}");
        Assert.Empty(result.Diagnostics("Error"));
        Assert.Empty(result.Diagnostics("Warning"));
    }

    [Fact]
    public void Lint_SecretInOutput_IsAnError()
    {
        // proves the lint test above can fail: bicepconfig.json raises this rule to an error
        var probe = workspace.PathOf("modules/zz-lint-probe.bicep");
        File.WriteAllText(probe, "@secure()\nparam password string\n\noutput leaked string = password\n");
        try
        {
            var result = BicepCli.Run(workspace.Directory, "lint", probe, "--no-restore");
            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains(result.Diagnostics("Error"), d => d.Contains("outputs-should-not-contain-secrets", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(probe);
        }
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void Snapshot_PostgreSql_HasPgBouncerInTransactionModeWithTheBudgetPools(string paramFile)
    {
        var s = workspace.Snapshot(paramFile);
        Assert.Empty(DeploymentChecks.PgBouncer(s));
        var config = s.OfType("Microsoft.DBforPostgreSQL/flexibleServers/configurations")
            .ToDictionary(DeploymentSnapshot.ShortName, c => c.GetProperty("properties").GetProperty("value").GetString());
        Assert.Equal(s.IntParameter("pgBouncerMaxClientConn").ToString(System.Globalization.CultureInfo.InvariantCulture), config["pgbouncer.max_client_conn"]);
        Assert.Equal(s.IntParameter("pgBouncerDefaultPoolSize").ToString(System.Globalization.CultureInfo.InvariantCulture), config["pgbouncer.default_pool_size"]);
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void Snapshot_Storage_HasQueuesWithTheirPoisonQueuesAndTablesAndNoSharedKeys(string paramFile)
    {
        var s = workspace.Snapshot(paramFile);
        Assert.Empty(DeploymentChecks.Storage(s));
        var queues = s.OfType("Microsoft.Storage/storageAccounts/queueServices/queues").Select(DeploymentSnapshot.ShortName);
        Assert.Contains("recon-low-poison", queues);
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void Snapshot_PostgreSql_AcceptsOnlyEntraSignInWithTheAppIdentityAsAdministrator(string paramFile)
        => Assert.Empty(DeploymentChecks.PostgresEntraOnly(workspace.Snapshot(paramFile)));

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void Snapshot_Redis_IsManagedRedisWithoutKeysAndTheAppIdentityHasTheDefaultPolicy(string paramFile)
    {
        var s = workspace.Snapshot(paramFile);
        Assert.Empty(DeploymentChecks.ManagedRedis(s));
        Assert.Equal(s.StringParameter("redisSkuName"), s.Single("Microsoft.Cache/redisEnterprise").GetProperty("sku").GetProperty("name").GetString());
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void Snapshot_Network_OpensNothingBeyondWhatTheEnvironmentNeeds(string paramFile)
        => Assert.Empty(DeploymentChecks.NetworkExposure(workspace.Snapshot(paramFile)));

    [Fact]
    public void Snapshot_Prod_IsPrivate()
    {
        var s = workspace.Snapshot("main.prod.bicepparam");
        Assert.True(s.BoolParameter("privateNetworking"), "prod must deploy with privateNetworking = true");
        Assert.Empty(DeploymentChecks.NetworkExposure(s));
        Assert.Empty(s.OfType("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"));
        Assert.Equal(6, s.OfType("Microsoft.Network/privateEndpoints").Count);
    }

    [Fact]
    public void Snapshot_Dev_IsPublicWithOnlyAzuresFirewallRule()
    {
        // without a virtual network a Flex app has no fixed outbound address: Azure's 0.0.0.0 rule is the only way in
        var s = workspace.Snapshot("main.dev.bicepparam");
        Assert.False(s.BoolParameter("privateNetworking"));
        var rule = Assert.Single(s.OfType("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules")).GetProperty("properties");
        Assert.Equal("0.0.0.0", rule.GetProperty("startIpAddress").GetString());
        Assert.Equal("0.0.0.0", rule.GetProperty("endIpAddress").GetString());
        Assert.Empty(s.OfType("Microsoft.Network/privateEndpoints"));
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void Snapshot_AppSettings_AreTheContractTheAppReads(string paramFile)
        => Assert.Empty(DeploymentChecks.AppSettingsContract(workspace.Snapshot(paramFile)));

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void Snapshot_BanksWithoutBaseUrl_HaveNoSettings(string paramFile)
    {
        var s = workspace.Snapshot(paramFile);
        Assert.Empty(DeploymentChecks.BankSettings(s));
        Assert.DoesNotContain(s.AppSettings().Keys, k => k.StartsWith("Recon__Providers__Bank", StringComparison.Ordinal));
    }

    [Fact]
    public void Snapshot_BankWithBaseUrl_GetsTheUrlAndACredentialReference()
    {
        File.WriteAllText(workspace.PathOf("main.bank-a.bicepparam"),
            File.ReadAllText(workspace.PathOf("main.dev.bicepparam"))
                .Replace("param bankABaseUrl = readEnvironmentVariable('BANK_A_BASE_URL', '')", "param bankABaseUrl = 'https://bank-a.example.test/bai2'", StringComparison.Ordinal));
        var s = workspace.Snapshot("main.bank-a.bicepparam");
        Assert.Empty(DeploymentChecks.BankSettings(s));
        var settings = s.AppSettings();
        Assert.Equal("https://bank-a.example.test/bai2", settings["Recon__Providers__BankA__BaseUrl"]);
        Assert.Contains("'bank-a-credential'", settings["Recon__Providers__BankA__ApiKey"], StringComparison.Ordinal);
        Assert.False(settings.ContainsKey("Recon__Providers__BankB__ApiKey"));
        Assert.Empty(DeploymentChecks.SecretsOnlyThroughKeyVault(s));
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void Snapshot_FunctionApp_ReachesStorageWithTheManagedIdentity(string paramFile)
        => Assert.Empty(DeploymentChecks.IdentityBasedStorage(workspace.Snapshot(paramFile)));

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void Snapshot_AppSettings_HoldSecretsOnlyAsKeyVaultReferences(string paramFile)
    {
        var s = workspace.Snapshot(paramFile);
        Assert.Empty(DeploymentChecks.SecretsOnlyThroughKeyVault(s));
        var settings = s.AppSettings();
        foreach (var name in new[] { "Recon__Providers__Stripe__ApiKey", "Recon__Providers__Plaid__ClientId", "Recon__Providers__Plaid__Secret" })
        {
            Assert.Contains("@Microsoft.KeyVault(", settings[name], StringComparison.Ordinal);
        }
        // plain since the app signs in with its identity: a connection string and a configuration with no secret in them
        foreach (var name in new[] { "Recon__Database__ConnectionString", "Recon__Redis__Configuration" })
        {
            Assert.DoesNotContain("@Microsoft.KeyVault(", settings[name], StringComparison.Ordinal);
        }
        Assert.DoesNotContain(s.OfType("Microsoft.KeyVault/vaults/secrets").Select(DeploymentSnapshot.ShortName), n => n.Contains("database", StringComparison.Ordinal) || n.Contains("redis", StringComparison.Ordinal));
        var site = s.Single("Microsoft.Web/sites").GetProperty("properties");
        Assert.False(string.IsNullOrEmpty(site.GetProperty("keyVaultReferenceIdentity").GetString()));
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void Snapshot_InstanceCap_FitsTheConnectionBudget(string paramFile)
    {
        var s = workspace.Snapshot(paramFile);
        Assert.Empty(DeploymentChecks.ConnectionBudget(s, DeploymentChecks.HostJsonMaxConcurrentActivities(BicepWorkspace.RepositoryRoot)));
        // the cap is the parameter, not something else, and one every Flex Consumption region accepts
        var cap = s.Single("Microsoft.Web/sites").GetProperty("properties").GetProperty("functionAppConfig")
            .GetProperty("scaleAndConcurrency").GetProperty("maximumInstanceCount").GetInt32();
        Assert.Equal(s.IntParameter("functionMaximumInstanceCount"), cap);
        Assert.InRange(cap, DeploymentChecks.FlexMinimumInstanceCap, 1000);
    }

    [Fact]
    public void Template_InstanceCapParameter_RefusesCapsBelowTheFlexMinimum()
    {
        var cap = workspace.CompiledTemplate().RootElement.GetProperty("parameters").GetProperty("functionMaximumInstanceCount");
        Assert.Equal(DeploymentChecks.FlexMinimumInstanceCap, cap.GetProperty("minValue").GetInt32());
    }

    [Fact]
    public void ConnectionBudget_HostJsonAskingForMoreActivities_IsReported()
    {
        // the prod numbers fit at 10 activities per instance, not if host.json asked for 20 and the setting went away
        var prod = workspace.Snapshot("main.prod.bicepparam");
        Assert.Empty(DeploymentChecks.ConnectionBudget(prod, hostJsonActivities: 10));
        Assert.Contains(DeploymentChecks.ConnectionBudget(prod, hostJsonActivities: 20), e => e.Contains("= 2000 > max_client_conn 1000", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void Snapshot_FunctionApp_IsDotnet10IsolatedOnFlexConsumption(string paramFile)
    {
        var s = workspace.Snapshot(paramFile);
        var runtime = s.Single("Microsoft.Web/sites").GetProperty("properties").GetProperty("functionAppConfig").GetProperty("runtime");
        Assert.Equal("dotnet-isolated", runtime.GetProperty("name").GetString());
        Assert.Equal("10.0", runtime.GetProperty("version").GetString());
        Assert.Equal("FC1", s.Single("Microsoft.Web/serverfarms").GetProperty("sku").GetProperty("name").GetString());
        Assert.Equal("functions", s.Single("Microsoft.Web/sites").GetProperty("tags").GetProperty("azd-service-name").GetString());
    }

    [Fact]
    public void Snapshot_Workbook_ShowsEveryStoryMetricWithKnownNamesAndTags()
    {
        var s = workspace.Snapshot("main.prod.bicepparam");
        var workbook = s.Single("Microsoft.Insights/workbooks");
        using var content = JsonDocument.Parse(workbook.GetProperty("properties").GetProperty("serializedData").GetString()!);
        var queries = content.RootElement.GetProperty("items").EnumerateArray()
            .Where(i => i.GetProperty("type").GetInt32() == 3)
            .Select(i => i.GetProperty("content").GetProperty("query").GetString()!)
            .ToList();
        var kql = string.Join("\n", queries);
        foreach (var metric in new[]
                 {
                     ReconMetricNames.ProviderCalls, ReconMetricNames.TokenWaitDuration, ReconMetricNames.QueueDepth,
                     ReconMetricNames.LateBatches, ReconMetricNames.BatchSpan, ReconMetricNames.DbPoolInUse,
                 })
        {
            Assert.Contains($"\"{metric}\"", kql, StringComparison.Ordinal);
        }
        Assert.Contains("percentile(DurationMs, 99)", kql, StringComparison.Ordinal);
        Assert.Contains("server_connections_active", kql, StringComparison.Ordinal);
        Assert.Contains("== 429", kql, StringComparison.Ordinal);
        AssertOnlyKnownNamesAndTags(kql);
    }

    [Fact]
    public void Snapshot_Alerts_CoverThrottlingLateBatchesAndPoisonMessages()
    {
        var s = workspace.Snapshot("main.prod.bicepparam");
        var rules = s.OfType("Microsoft.Insights/scheduledQueryRules");
        var queries = rules.Select(r => r.GetProperty("properties").GetProperty("criteria").GetProperty("allOf")[0].GetProperty("query").GetString()!).ToList();
        Assert.Contains(queries, q => q.Contains(ReconMetricNames.ProviderCalls, StringComparison.Ordinal) && q.Contains("429", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Contains(ReconMetricNames.LateBatches, StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Contains(ReconMetricNames.QueueDepth, StringComparison.Ordinal) && q.Contains("-poison", StringComparison.Ordinal));
        AssertOnlyKnownNamesAndTags(string.Join("\n", queries));
        Assert.All(rules, r => Assert.NotEmpty(r.GetProperty("properties").GetProperty("actions").GetProperty("actionGroups").EnumerateArray()));
    }

    private static void AssertOnlyKnownNamesAndTags(string kql)
    {
        var knownNames = ReconMetricNames.Instruments.Append(ReconMetricNames.BatchSpan).Append(ReconMetricNames.ProviderCallSpan).ToHashSet();
        var names = MetricNameInKql().Matches(kql).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(names);
        Assert.All(names, n => Assert.Contains(n, knownNames));
        var tags = TagInKql().Matches(kql).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(tags);
        Assert.All(tags, t => Assert.Contains(t, ReconTagNames.All));
    }

    [GeneratedRegex("Name == \"(recon\\.[a-z._]+)\"")]
    private static partial Regex MetricNameInKql();

    [GeneratedRegex("Properties\\[\"([^\"]+)\"\\]")]
    private static partial Regex TagInKql();
}
