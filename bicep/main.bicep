// Recon on Azure: one resource group per environment (dev, prod) with the Function App, its storage, PostgreSQL
// with the built-in PgBouncer, Redis, Key Vault, monitoring, and the identity that ties them together.
// `azd up` (azure.yaml) and azure-pipelines.yml both deploy this file.
targetScope = 'subscription'

@description('Environment name (dev, prod, or an azd environment); part of every resource name.')
@minLength(1)
@maxLength(32)
param environmentName string

@description('Azure region for every resource. Must offer the Flex Consumption plan.')
param location string

@description('PostgreSQL administrator login.')
param postgresAdminLogin string = 'reconadmin'

@description('PostgreSQL administrator password (pipeline: variable group; azd: prompted or from the environment).')
@secure()
param postgresAdminPassword string

@description('Stripe secret API key, stored in Key Vault; empty keeps the stored one.')
@secure()
param stripeApiKey string = ''

@description('Plaid client id, stored in Key Vault; empty keeps the stored one.')
@secure()
param plaidClientId string = ''

@description('Plaid secret, stored in Key Vault; empty keeps the stored one.')
@secure()
param plaidSecret string = ''

@description('Bank A (BAI2) credential, stored in Key Vault; empty keeps the stored one.')
@secure()
param bankACredential string = ''

@description('Bank B (camt.053) credential, stored in Key Vault; empty keeps the stored one.')
@secure()
param bankBCredential string = ''

// ---- Connection budget -------------------------------------------------------------------------------------------
// Every instance runs at most maxConcurrentActivityFunctions activities, each holding at most
// dbConnectionsPerActivity database connections (MatchAndPost: one connection, one transaction), and all of them
// together must fit in PgBouncer's max_client_conn, or the spike ends in "too many clients":
//
//   functionMaximumInstanceCount x maxConcurrentActivityFunctions x dbConnectionsPerActivity <= pgBouncerMaxClientConn
//   defaults / prod:  100 x 10 x 1 = 1000 <= 1000
//   dev:               10 x 10 x 1 =  100 <=  200
//
// PostgreSQL itself only ever sees pgBouncerDefaultPoolSize server connections for the recon database.
// Recon.Tests/Deploy/BicepTemplateTests checks the inequality for the defaults and both parameter files, reading
// maxConcurrentActivityFunctions from Recon.Functions/host.json too when it sets one.

@description('PgBouncer max_client_conn. 1000 matches the local stack (deploy/local/pgbouncer.ini).')
@minValue(1)
@maxValue(5000)
param pgBouncerMaxClientConn int = 1000

@description('PgBouncer default_pool_size: server connections PostgreSQL sees (the story\'s steady 50).')
@minValue(1)
param pgBouncerDefaultPoolSize int = 50

@description('Durable Task activities one instance runs at once; also the app setting that overrides host.json.')
@minValue(1)
param maxConcurrentActivityFunctions int = 10

@description('Database connections one activity holds at most.')
@minValue(1)
param dbConnectionsPerActivity int = 1

@description('Flex Consumption instance cap = pgBouncerMaxClientConn / (maxConcurrentActivityFunctions x dbConnectionsPerActivity) = 1000 / (10 x 1) = 100.')
@minValue(1)
@maxValue(1000)
param functionMaximumInstanceCount int = 100
// -------------------------------------------------------------------------------------------------------------------

@description('PostgreSQL compute size; PgBouncer needs General Purpose or Memory Optimized.')
param postgresSkuName string = 'Standard_D2ds_v5'

@description('Azure Cache for Redis SKU.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param redisSkuName string = 'Basic'

@description('Storage replication.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Key Vault purge protection (on in prod).')
param keyVaultPurgeProtection bool = false

@description('Email for the alerts; empty for none.')
param alertEmail string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'recon'
}
var functionAppName = 'func-recon-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-recon-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  scope: rg
  name: 'identity'
  params: {
    name: 'id-recon-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-recon-${resourceToken}'
    applicationInsightsName: 'appi-recon-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  scope: rg
  name: 'storage'
  params: {
    name: 'strecon${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    skuName: storageSkuName
  }
}

module postgres 'modules/postgres.bicep' = {
  scope: rg
  name: 'postgres'
  params: {
    name: 'psql-recon-${resourceToken}'
    location: location
    tags: tags
    administratorLogin: postgresAdminLogin
    administratorPassword: postgresAdminPassword
    skuName: postgresSkuName
    pgBouncerMaxClientConn: pgBouncerMaxClientConn
    pgBouncerDefaultPoolSize: pgBouncerDefaultPoolSize
    workspaceId: monitoring.outputs.workspaceId
  }
}

module redis 'modules/redis.bicep' = {
  scope: rg
  name: 'redis'
  params: {
    name: 'redis-recon-${resourceToken}'
    location: location
    tags: tags
    skuName: redisSkuName
    capacity: redisSkuName == 'Basic' ? 0 : 1
  }
}

module keyVault 'modules/keyvault.bicep' = {
  scope: rg
  name: 'keyvault'
  params: {
    name: 'kv-recon-${resourceToken}'
    location: location
    tags: tags
    enablePurgeProtection: keyVaultPurgeProtection
    stripeApiKey: stripeApiKey
    plaidClientId: plaidClientId
    plaidSecret: plaidSecret
    bankACredential: bankACredential
    bankBCredential: bankBCredential
    postgresHost: postgres.outputs.fullyQualifiedDomainName
    pgBouncerPort: postgres.outputs.pgBouncerPort
    postgresDatabase: postgres.outputs.databaseName
    postgresLogin: postgresAdminLogin
    postgresPassword: postgresAdminPassword
    npgsqlMaxPoolSize: maxConcurrentActivityFunctions * dbConnectionsPerActivity
    redisName: redis.outputs.name
  }
}

module roles 'modules/roles.bicep' = {
  scope: rg
  name: 'roles'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module functionApp 'modules/functionapp.bicep' = {
  scope: rg
  name: 'functionapp'
  params: {
    name: functionAppName
    planName: 'plan-recon-${resourceToken}'
    location: location
    tags: tags
    serviceName: 'functions'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: keyVault.outputs.vaultUri
    maximumInstanceCount: functionMaximumInstanceCount
    maxConcurrentActivityFunctions: maxConcurrentActivityFunctions
    databaseMaxConcurrentOperations: maxConcurrentActivityFunctions * dbConnectionsPerActivity
    // app setting -> Key Vault secret; the settings hold only @Microsoft.KeyVault(...) references to these
    secretNames: {
      Recon__Database__ConnectionString: keyVault.outputs.databaseSecretName
      Recon__Redis__Configuration: keyVault.outputs.redisSecretName
      Recon__Stripe__ApiKey: 'stripe-api-key'
      Recon__Plaid__ClientId: 'plaid-client-id'
      Recon__Plaid__Secret: 'plaid-secret'
      Recon__Banks__BankA__Credential: 'bank-a-credential'
      Recon__Banks__BankB__Credential: 'bank-b-credential'
    }
  }
  // the identity must be able to read secrets and storage before the host starts
  dependsOn: [
    roles
  ]
}

module workbook 'modules/workbook.bicep' = {
  scope: rg
  name: 'workbook'
  params: {
    displayName: 'Recon (${environmentName})'
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
  }
}

module alerts 'modules/alerts.bicep' = {
  scope: rg
  name: 'alerts'
  params: {
    location: location
    tags: tags
    workspaceId: monitoring.outputs.workspaceId
    namePrefix: 'recon-${environmentName}'
    alertEmail: alertEmail
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_POSTGRES_HOST string = postgres.outputs.fullyQualifiedDomainName
output AZURE_REDIS_HOST string = redis.outputs.hostName
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_WORKBOOK_ID string = workbook.outputs.id
// plain names for azure-pipelines.yml (ARM camel-cases the first letters of upper-case output names)
output functionAppName string = functionApp.outputs.name
output resourceGroupName string = rg.name
