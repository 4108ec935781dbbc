namespace Recon.Tests.Deploy;

/// <summary>
/// The same checks on a copy of bicep/ broken on purpose: each check must report the break, or it could not catch a
/// regression either.
/// </summary>
public sealed class TamperedTemplateTests : IClassFixture<TamperedTemplateTests.TamperedWorkspace>
{
    private readonly DeploymentSnapshot _broken;
    private readonly DeploymentSnapshot _publicWithWideRule;

    public TamperedTemplateTests(TamperedWorkspace workspace)
    {
        _broken = workspace.Snapshot("main.overbudget.bicepparam");
        _publicWithWideRule = workspace.Snapshot("main.public.bicepparam");
    }

    [Fact]
    public void ConnectionBudget_OneInstanceTooMany_IsReported()
    {
        var errors = DeploymentChecks.ConnectionBudget(_broken, hostJsonActivities: null);
        Assert.Contains(errors, e => e.Contains("101 instances x 10 activities x 1 connections = 1010 > max_client_conn 1000", StringComparison.Ordinal));
    }

    [Fact]
    public void ConnectionBudget_SettingThatDisagreesWithTheDeployment_IsReported()
        => Assert.Contains(DeploymentChecks.ConnectionBudget(_broken, hostJsonActivities: null),
            e => e.Contains("Recon__ConnectionBudget__MaxInstances is 100, but the deployment has 101", StringComparison.Ordinal));

    [Fact]
    public void PgBouncer_SessionMode_IsReported()
        => Assert.Contains(DeploymentChecks.PgBouncer(_broken), e => e.Contains("pgbouncer.pool_mode", StringComparison.Ordinal));

    [Fact]
    public void Storage_SharedKeysOn_IsReported()
        => Assert.Contains(DeploymentChecks.Storage(_broken), e => e.Contains("allowSharedKeyAccess", StringComparison.Ordinal));

    [Fact]
    public void Storage_PoisonQueueMissing_IsReported()
        => Assert.Contains(DeploymentChecks.Storage(_broken), e => e.Contains("queue recon-low-poison is not created", StringComparison.Ordinal));

    [Fact]
    public void Secrets_PlainValueInAppSettings_IsReported()
        => Assert.Contains(DeploymentChecks.SecretsOnlyThroughKeyVault(_broken), e => e.Contains("Recon__Providers__Stripe__ApiKey holds a plain value", StringComparison.Ordinal));

    [Fact]
    public void Secrets_PasswordInThePlainConnectionString_IsReported()
        => Assert.Contains(DeploymentChecks.SecretsOnlyThroughKeyVault(_broken),
            e => e.Contains("Recon__Database__ConnectionString contains secret material", StringComparison.Ordinal));

    [Fact]
    public void IdentityStorage_ConnectionStringSetting_IsReported()
        => Assert.Contains(DeploymentChecks.IdentityBasedStorage(_broken), e => e.Contains("AzureWebJobsStorage is set", StringComparison.Ordinal));

    [Fact]
    public void Postgres_PasswordSignInOn_IsReported()
        => Assert.Contains(DeploymentChecks.PostgresEntraOnly(_broken), e => e.Contains("passwordAuth must be Disabled", StringComparison.Ordinal));

    [Fact]
    public void Postgres_AdministratorNotTheAppIdentity_IsReported()
        => Assert.Contains(DeploymentChecks.PostgresEntraOnly(_broken), e => e.Contains("no PostgreSQL Entra administrator for the app identity", StringComparison.Ordinal));

    [Fact]
    public void Redis_AccessKeysOn_IsReported()
        => Assert.Contains(DeploymentChecks.ManagedRedis(_broken), e => e.Contains("accessKeysAuthentication must be Disabled", StringComparison.Ordinal));

    [Fact]
    public void Redis_AccessPolicyForSomeoneElse_IsReported()
        => Assert.Contains(DeploymentChecks.ManagedRedis(_broken), e => e.Contains("no Managed Redis access policy assignment", StringComparison.Ordinal));

    [Fact]
    public void Network_FirewallRuleWithPrivateNetworking_IsReported()
        => Assert.Contains(DeploymentChecks.NetworkExposure(_broken),
            e => e.Contains("PostgreSQL firewall rule AllowAllAzureServicesAndResourcesWithinAzureIps", StringComparison.Ordinal) && e.Contains("with private networking on", StringComparison.Ordinal));

    [Fact]
    public void Network_KeyVaultPublicWithPrivateNetworking_IsReported()
        => Assert.Contains(DeploymentChecks.NetworkExposure(_broken), e => e.Contains("Key Vault: publicNetworkAccess must be Disabled", StringComparison.Ordinal));

    [Fact]
    public void Network_AppWithoutVnetIntegration_IsReported()
        => Assert.Contains(DeploymentChecks.NetworkExposure(_broken), e => e.Contains("the Function App has no virtualNetworkSubnetId", StringComparison.Ordinal));

    [Fact]
    public void Network_WideFirewallRuleWithoutPrivateNetworking_IsReported()
        => Assert.Contains(DeploymentChecks.NetworkExposure(_publicWithWideRule), e => e.Contains("opens 0.0.0.0-255.255.255.255", StringComparison.Ordinal));

    [Fact]
    public void AppSettings_ConnectionStringForAnotherUser_IsReported()
        => Assert.Contains(DeploymentChecks.AppSettingsContract(_broken),
            e => e.Contains("Recon__Database__ConnectionString: Username must be the identity's name", StringComparison.Ordinal));

    [Fact]
    public void AppSettings_OldStorageClientIdSetting_IsReported()
        => Assert.Contains(DeploymentChecks.AppSettingsContract(_broken), e => e.Contains("Recon__Storage__ClientId is set", StringComparison.Ordinal));

    [Fact]
    public void Banks_CredentialWithoutBaseUrl_IsReported()
        => Assert.Contains(DeploymentChecks.BankSettings(_broken),
            e => e.Contains("BankA has no base URL, yet Recon__Providers__BankA__ApiKey is set", StringComparison.Ordinal));

    public sealed class TamperedWorkspace : IDisposable
    {
        private readonly BicepWorkspace _workspace = new();

        public TamperedWorkspace()
        {
            File.WriteAllText(_workspace.PathOf("main.overbudget.bicepparam"), """
                using 'main.bicep'
                param environmentName = 'tampered'
                param location = 'eastus2'
                param privateNetworking = true
                param pgBouncerMaxClientConn = 1000
                param maxConcurrentActivityFunctions = 10
                param dbConnectionsPerActivity = 1
                param functionMaximumInstanceCount = 101
                """);
            // the same broken template, public: for the firewall rule that is too wide even without private networking
            File.WriteAllText(_workspace.PathOf("main.public.bicepparam"), """
                using 'main.bicep'
                param environmentName = 'tampered'
                param location = 'eastus2'
                param privateNetworking = false
                """);
            _workspace.Replace("modules/postgres.bicep", "value: 'TRANSACTION'", "value: 'SESSION'");
            _workspace.Replace("modules/postgres.bicep", "passwordAuth: 'Disabled'", "passwordAuth: 'Enabled'");
            _workspace.Replace("modules/postgres.bicep", "principalName: appIdentityName", "principalName: 'not-${appIdentityName}'");
            _workspace.Replace("modules/postgres.bicep", "if (publicNetworkAccess == 'Enabled')", "if (true)");
            _workspace.Replace("modules/postgres.bicep", "endIpAddress: '0.0.0.0'", "endIpAddress: '255.255.255.255'");
            _workspace.Replace("modules/storage.bicep", "allowSharedKeyAccess: false", "allowSharedKeyAccess: true");
            _workspace.Replace("modules/storage.bicep", "q => [q, '${q}-poison']", "q => q == 'recon-low' ? [q] : [q, '${q}-poison']");
            _workspace.Replace("modules/redis.bicep", "accessKeysAuthentication: 'Disabled'", "accessKeysAuthentication: 'Enabled'");
            _workspace.Replace("modules/redis.bicep", "objectId: appPrincipalId", "objectId: '00000000-0000-0000-0000-000000000000'");
            _workspace.Replace("modules/keyvault.bicep",
                "publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'", "publicNetworkAccess: 'Enabled'");
            _workspace.Replace("modules/functionapp.bicep",
                "s => { key: s.key, value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${s.value}/)' }",
                "s => { key: s.key, value: '${keyVaultUri}secrets/${s.value}' }");
            _workspace.Replace("modules/functionapp.bicep",
                "AzureWebJobsStorage__accountName: storageAccountName",
                "AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=${storageAccountName}'");
            _workspace.Replace("modules/functionapp.bicep", "Username=${identityName};SSL Mode=Require;", "Username=not-${identityName};Password=${identityClientId};SSL Mode=Require;");
            _workspace.Replace("modules/functionapp.bicep",
                "Recon__ConnectionBudget__MaxInstances: string(maximumInstanceCount)", "Recon__ConnectionBudget__MaxInstances: '100'");
            _workspace.Replace("modules/functionapp.bicep",
                "Recon__Identity__ClientId: identityClientId", "Recon__Identity__ClientId: identityClientId\n  Recon__Storage__ClientId: identityClientId");
            _workspace.Replace("modules/functionapp.bicep",
                "virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId", "virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : null");
            _workspace.Replace("main.bicep", "filter(banks, b => !empty(b.baseUrl))", "filter(banks, b => b.name == 'BankA' || !empty(b.baseUrl))");
        }

        public DeploymentSnapshot Snapshot(string paramFile) => _workspace.Snapshot(paramFile);

        public void Dispose() => _workspace.Dispose();
    }
}
