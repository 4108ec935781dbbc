namespace Recon.Tests.Deploy;

/// <summary>
/// The same checks on a copy of bicep/ broken on purpose: each check must report the break, or it could not catch a
/// regression either.
/// </summary>
public sealed class TamperedTemplateTests : IClassFixture<TamperedTemplateTests.TamperedWorkspace>
{
    private readonly DeploymentSnapshot _broken;

    public TamperedTemplateTests(TamperedWorkspace workspace) => _broken = workspace.Snapshot("main.overbudget.bicepparam");

    [Fact]
    public void ConnectionBudget_OneInstanceTooMany_IsReported()
    {
        var errors = DeploymentChecks.ConnectionBudget(_broken, hostJsonActivities: null);
        Assert.Contains(errors, e => e.Contains("101 instances x 10 activities x 1 connections = 1010 > max_client_conn 1000", StringComparison.Ordinal));
    }

    [Fact]
    public void PgBouncer_SessionMode_IsReported()
        => Assert.Contains(DeploymentChecks.PgBouncer(_broken), e => e.Contains("pgbouncer.pool_mode", StringComparison.Ordinal));

    [Fact]
    public void Storage_SharedKeysOn_IsReported()
        => Assert.Contains(DeploymentChecks.Storage(_broken), e => e.Contains("allowSharedKeyAccess", StringComparison.Ordinal));

    [Fact]
    public void Secrets_PlainValueInAppSettings_IsReported()
        => Assert.Contains(DeploymentChecks.SecretsOnlyThroughKeyVault(_broken), e => e.Contains("Recon__Stripe__ApiKey holds a plain value", StringComparison.Ordinal));

    [Fact]
    public void IdentityStorage_ConnectionStringSetting_IsReported()
        => Assert.Contains(DeploymentChecks.IdentityBasedStorage(_broken), e => e.Contains("AzureWebJobsStorage is set", StringComparison.Ordinal));

    public sealed class TamperedWorkspace : IDisposable
    {
        private readonly BicepWorkspace _workspace = new();

        public TamperedWorkspace()
        {
            File.WriteAllText(_workspace.PathOf("main.overbudget.bicepparam"), """
                using 'main.bicep'
                param environmentName = 'tampered'
                param location = 'eastus2'
                param postgresAdminPassword = ''
                param pgBouncerMaxClientConn = 1000
                param maxConcurrentActivityFunctions = 10
                param dbConnectionsPerActivity = 1
                param functionMaximumInstanceCount = 101
                """);
            _workspace.Replace("modules/postgres.bicep", "value: 'TRANSACTION'", "value: 'SESSION'");
            _workspace.Replace("modules/storage.bicep", "allowSharedKeyAccess: false", "allowSharedKeyAccess: true");
            _workspace.Replace("modules/functionapp.bicep",
                "s => { key: s.key, value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${s.value}/)' }",
                "s => { key: s.key, value: '${keyVaultUri}secrets/${s.value}' }");
            _workspace.Replace("modules/functionapp.bicep",
                "AzureWebJobsStorage__accountName: storageAccountName",
                "AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=${storageAccountName}'");
        }

        public DeploymentSnapshot Snapshot(string paramFile) => _workspace.Snapshot(paramFile);

        public void Dispose() => _workspace.Dispose();
    }
}
