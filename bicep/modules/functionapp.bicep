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

@description('Upper bound on instances; see the connection budget in main.bicep.')
@minValue(1)
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

@description('In-process database bulkhead and Npgsql pool size per instance.')
param databaseMaxConcurrentOperations int

@description('Key Vault secret names: the database and Redis secrets plus the provider secrets.')
param secretNames object

// Key Vault references only: the value in the app setting is a pointer, the secret stays in the vault and is read
// with the user-assigned identity (keyVaultReferenceIdentity below).
var kvRef = map(items(secretNames), s => { key: s.key, value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${s.value}/)' })

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
  Recon__Storage__ClientId: identityClientId
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
    properties: union(plainSettings, secretSettings)
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
