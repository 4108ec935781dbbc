// Recon on Azure: one resource group per environment (dev, prod) with the Function App, its storage, PostgreSQL
// with the built-in PgBouncer, Azure Managed Redis, Key Vault, monitoring, and the identity that ties them together:
// the app signs in to storage, PostgreSQL, Redis and Key Vault with it (Entra ID), so no password or access key
// exists. With privateNetworking the app joins a virtual network and those services take no public traffic.
// `azd up` (azure.yaml) and azure-pipelines.yml both deploy this file.
targetScope = 'subscription'

@description('Environment name (dev, prod, or an azd environment); part of every resource name.')
@minLength(1)
@maxLength(32)
param environmentName string

@description('Azure region for every resource. Must offer the Flex Consumption plan.')
param location string

@description('Private networking: a virtual network for the app, private endpoints for PostgreSQL, Redis, storage and Key Vault, and public access off on all four. Each parameters file chooses (prod: on).')
param privateNetworking bool

@description('Optional Entra principal made a second PostgreSQL administrator, for migrations and troubleshooting (azd fills AZURE_PRINCIPAL_ID with the signed-in user); empty for none.')
param principalId string = ''

@description('Type of that principal.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('PostgreSQL role (user) name for that principal, e.g. a user\'s UPN; empty uses its object id.')
param principalName string = ''

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

@description('Bank A (BAI2) base URL; empty leaves Bank A unconfigured (no URL and no credential setting: the app refuses a credential without a URL).')
param bankABaseUrl string = ''

@description('Bank B (camt.053) base URL; empty leaves Bank B unconfigured.')
param bankBBaseUrl string = ''

// ---- Connection budget -------------------------------------------------------------------------------------------
// Every instance runs at most maxConcurrentActivityFunctions activities, each holding at most
// dbConnectionsPerActivity database connections (MatchAndPost: one connection, one transaction), and all of them
// together must fit in PgBouncer's max_client_conn, or the spike ends in "too many clients":
//
//   functionMaximumInstanceCount x maxConcurrentActivityFunctions x dbConnectionsPerActivity <= pgBouncerMaxClientConn
//   defaults / prod:  100 x 10 x 1 = 1000 <= 1000
//   dev:               40 x 10 x 1 =  400 <=  400
//
// Flex Consumption applies the instance cap per function group; only activities open database connections, and all
// Durable Functions triggers scale as one group, so the cap bounds the instances that count here.
// PostgreSQL itself only ever sees pgBouncerDefaultPoolSize server connections for the recon database.
// The app gets these numbers as Recon__ConnectionBudget__* settings and refuses to start when they do not fit;
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

// 40: the lowest Flex Consumption maximum instance count the docs gave until 2026 (flex-consumption-plan,
// "Considerations"), still the floor where lower caps have not rolled out; the current event-driven-scaling page
// ("Limit scale-out") documents 1. Any value from 40 up deploys in every region.
@description('Flex Consumption instance cap = pgBouncerMaxClientConn / (maxConcurrentActivityFunctions x dbConnectionsPerActivity) = 1000 / (10 x 1) = 100. At least 40, the lowest value every region accepts.')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 100
// -------------------------------------------------------------------------------------------------------------------

@description('PostgreSQL compute size; PgBouncer needs General Purpose or Memory Optimized.')
param postgresSkuName string = 'Standard_D2ds_v5'

@description('Azure Managed Redis SKU: Balanced_B0 (0.5 GB) in dev, Balanced_B1 (1 GB) in prod.')
@allowed([
  'Balanced_B0'
  'Balanced_B1'
  'Balanced_B3'
  'Balanced_B5'
])
param redisSkuName string = 'Balanced_B0'

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
var publicNetworkAccess = privateNetworking ? 'Disabled' : 'Enabled'

// A bank is configured only with its base URL: then the URL is a plain setting and its credential a Key Vault
// reference. Without a URL neither is set, since the app refuses a credential without a URL at start.
var banks = [
  { name: 'BankA', baseUrl: bankABaseUrl, secretName: 'bank-a-credential' }
  { name: 'BankB', baseUrl: bankBBaseUrl, secretName: 'bank-b-credential' }
]
var configuredBanks = filter(banks, b => !empty(b.baseUrl))

// Private DNS zones of the private endpoints, by the key the endpoints below use.
var privateDnsZones = {
  postgres: 'privatelink.postgres.database.azure.com'
  redis: 'privatelink.redis.azure.net'
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  queue: 'privatelink.queue.${environment().suffixes.storage}'
  table: 'privatelink.table.${environment().suffixes.storage}'
  vault: 'privatelink.vaultcore.azure.net'
}

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
    privateNetworking: privateNetworking
  }
}

module network 'modules/network.bicep' = if (privateNetworking) {
  scope: rg
  name: 'network'
  params: {
    name: 'vnet-recon-${resourceToken}'
    location: location
    tags: tags
    dnsZones: privateDnsZones
  }
}

module postgres 'modules/postgres.bicep' = {
  scope: rg
  name: 'postgres'
  params: {
    name: 'psql-recon-${resourceToken}'
    location: location
    tags: tags
    appIdentityName: identity.outputs.name
    appPrincipalId: identity.outputs.principalId
    adminPrincipalId: principalId
    adminPrincipalType: principalType
    adminPrincipalName: principalName
    publicNetworkAccess: publicNetworkAccess
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
    appPrincipalId: identity.outputs.principalId
    publicNetworkAccess: publicNetworkAccess
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
    privateNetworking: privateNetworking
  }
}

module privateEndpoints 'modules/privateendpoints.bicep' = if (privateNetworking) {
  scope: rg
  name: 'privateendpoints'
  params: {
    location: location
    tags: tags
    namePrefix: 'pe-recon-${resourceToken}'
    subnetId: network!.outputs.privateEndpointSubnetId
    endpoints: [
      { name: 'postgres', serviceId: postgres.outputs.id, groupId: 'postgresqlServer', dnsZoneId: network!.outputs.dnsZoneIds.postgres }
      { name: 'redis', serviceId: redis.outputs.id, groupId: 'redisEnterprise', dnsZoneId: network!.outputs.dnsZoneIds.redis }
      { name: 'blob', serviceId: storage.outputs.id, groupId: 'blob', dnsZoneId: network!.outputs.dnsZoneIds.blob }
      { name: 'queue', serviceId: storage.outputs.id, groupId: 'queue', dnsZoneId: network!.outputs.dnsZoneIds.queue }
      { name: 'table', serviceId: storage.outputs.id, groupId: 'table', dnsZoneId: network!.outputs.dnsZoneIds.table }
      { name: 'vault', serviceId: keyVault.outputs.id, groupId: 'vault', dnsZoneId: network!.outputs.dnsZoneIds.vault }
    ]
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
    identityPrincipalId: identity.outputs.principalId
    identityName: identity.outputs.name
    virtualNetworkSubnetId: privateNetworking ? network!.outputs.appSubnetId : ''
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: keyVault.outputs.vaultUri
    maximumInstanceCount: functionMaximumInstanceCount
    maxConcurrentActivityFunctions: maxConcurrentActivityFunctions
    dbConnectionsPerActivity: dbConnectionsPerActivity
    pgBouncerMaxClientConn: pgBouncerMaxClientConn
    pgBouncerDefaultPoolSize: pgBouncerDefaultPoolSize
    postgresHost: postgres.outputs.fullyQualifiedDomainName
    pgBouncerPort: postgres.outputs.pgBouncerPort
    postgresDatabase: postgres.outputs.databaseName
    redisHost: redis.outputs.hostName
    redisPort: redis.outputs.port
    // app setting -> Key Vault secret; the settings hold only @Microsoft.KeyVault(...) references to these
    secretNames: union(
      {
        Recon__Providers__Stripe__ApiKey: 'stripe-api-key'
        Recon__Providers__Plaid__ClientId: 'plaid-client-id'
        Recon__Providers__Plaid__Secret: 'plaid-secret'
      },
      toObject(configuredBanks, b => 'Recon__Providers__${b.name}__ApiKey', b => b.secretName)
    )
    providerSettings: toObject(configuredBanks, b => 'Recon__Providers__${b.name}__BaseUrl', b => b.baseUrl)
  }
  // the identity must be able to read secrets and storage, and reach them privately, before the host starts
  dependsOn: [
    roles
    privateEndpoints
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
output AZURE_MANAGED_IDENTITY_NAME string = identity.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_WORKBOOK_ID string = workbook.outputs.id
// plain names for azure-pipelines.yml (ARM camel-cases the first letters of upper-case output names)
output functionAppName string = functionApp.outputs.name
output resourceGroupName string = rg.name
