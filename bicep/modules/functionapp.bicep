// The Functions app: .NET 10 isolated worker on the Flex Consumption plan. Flex scales per instance up to
// `maximumInstanceCount`, which main.bicep derives from the database connection budget.
@description('Name of the Function App.')
param name string

@description('Name of its Flex Consumption plan.')
param planName string

@description('Azure region.')
param location string

@description('Tags applied to the plan and the app; the app also carries azd-service-name.')
param tags object

@description('azd service this app hosts (azure.yaml).')
param serviceName string

@description('User-assigned identity the app runs as (resource id).')
param identityId string

@description('Client id of that identity, for identity-based connections.')
param identityClientId string

@description('Principal (object) id of that identity: the Redis user name under Entra ID.')
param identityPrincipalId string

@description('Name of that identity: its PostgreSQL role and user name.')
param identityName string

@description('Integration subnet (delegated to Microsoft.App/environments) when private networking is on; empty for none.')
param virtualNetworkSubnetId string = ''

@description('Storage account for AzureWebJobsStorage (Durable Task) and Recon\'s queues.')
param storageAccountName string

@description('Blob endpoint of that account.')
param storageBlobEndpoint string

@description('Queue endpoint of that account.')
param storageQueueEndpoint string

@description('Container the Flex plan deploys the package from.')
param deploymentContainerName string

@description('Application Insights connection string (identifies the component, not a credential).')
param applicationInsightsConnectionString string

@description('Key Vault URI, for Key Vault references.')
param keyVaultUri string

@description('Upper bound on instances; see the connection budget in main.bicep (40: the lowest value Flex Consumption accepts in every region).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance in MB (Flex Consumption sizes).')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Durable Task maxConcurrentActivityFunctions per instance, set here so it overrides host.json in Azure.')
param maxConcurrentActivityFunctions int

@description('Database connections one activity holds at most (the connection budget).')
param dbConnectionsPerActivity int

@description('PgBouncer max_client_conn (the connection budget the app checks at start).')
param pgBouncerMaxClientConn int

@description('PgBouncer default_pool_size (the connection budget the app checks at start).')
param pgBouncerDefaultPoolSize int

@description('PostgreSQL host name; the app connects through PgBouncer on it.')
param postgresHost string

@description('PgBouncer port.')
param pgBouncerPort int

@description('Application database.')
param postgresDatabase string

@description('Managed Redis host name.')
param redisHost string

@description('Managed Redis database port.')
param redisPort int

@description('App setting name -> Key Vault secret name, for the provider secrets.')
param secretNames object

@description('Plain provider settings (the banks\' base URLs), app setting name -> value.')
param providerSettings object = {}

// Key Vault references only: the value in the app setting is a pointer, the secret stays in the vault and is read
// with the user-assigned identity (keyVaultReferenceIdentity below).
var kvRef = map(items(secretNames), s => { key: s.key, value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${s.value}/)' })

// The per-instance share of the connection budget: the in-process bulkhead and the Npgsql pool size.
var databaseMaxConcurrentOperations = maxConcurrentActivityFunctions * dbConnectionsPerActivity

var plainSettings = {
  // Durable Task and the Functions host reach storage with the managed identity; there is no connection string.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // Ingestion with the identity (Monitoring Metrics Publisher) rather than the instrumentation key alone.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  AzureFunctionsJobHost__extensions__durableTask__maxConcurrentActivityFunctions: string(maxConcurrentActivityFunctions)
  Recon__Database__MaxConcurrentOperations: string(databaseMaxConcurrentOperations)
  Recon__Storage__QueueServiceUri: storageQueueEndpoint
  // The identity every Entra sign-in uses: storage and Key Vault by client id; PostgreSQL by name (below); Redis by
  // principal id, which is its user name there.
  Recon__Identity__ClientId: identityClientId
  Recon__Identity__PrincipalId: identityPrincipalId
  // No password in either: the app asks Entra ID for a token for the identity and presents it as the password.
  // Through PgBouncer in transaction mode: no auto-prepare, no reset on close (README, "Configuration").
  Recon__Database__ConnectionString: 'Host=${postgresHost};Port=${pgBouncerPort};Database=${postgresDatabase};Username=${identityName};SSL Mode=Require;Max Auto Prepare=0;No Reset On Close=true;Maximum Pool Size=${databaseMaxConcurrentOperations}'
  Recon__Redis__Configuration: '${redisHost}:${redisPort},ssl=True,abortConnect=False'
  // The connection budget as deployed; the app refuses to start when it does not fit (Recon.Core ConnectionBudget).
  Recon__ConnectionBudget__MaxInstances: string(maximumInstanceCount)
  Recon__ConnectionBudget__MaxConcurrentActivities: string(maxConcurrentActivityFunctions)
  Recon__ConnectionBudget__ConnectionsPerActivity: string(dbConnectionsPerActivity)
  Recon__ConnectionBudget__PgBouncerMaxClientConnections: string(pgBouncerMaxClientConn)
  Recon__ConnectionBudget__PgBouncerDefaultPoolSize: string(pgBouncerDefaultPoolSize)
}

var secretSettings = toObject(kvRef, e => e.key, e => e.value)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    // Flex Consumption VNet integration: outbound traffic (PostgreSQL, Redis, storage, Key Vault references) leaves
    // through this subnet and reaches the services' private endpoints.
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: union(plainSettings, providerSettings, secretSettings)
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
