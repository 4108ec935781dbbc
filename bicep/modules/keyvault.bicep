// Key Vault with RBAC: the Function App reads these secrets only through Key Vault references in its app settings.
// Provider secrets are written only when a value is given, so a later deployment without them (the pipeline on a
// branch without the variable group, or `azd provision` again) does not blank what is already stored.
@description('Name of the vault (3-24 characters).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the vault.')
param tags object

@description('Purge protection: on in prod (a deleted vault is kept 90 days), off in dev so environments can be recreated.')
param enablePurgeProtection bool = false

@description('Stripe secret API key (sk_...).')
@secure()
param stripeApiKey string = ''

@description('Plaid client id.')
@secure()
param plaidClientId string = ''

@description('Plaid secret.')
@secure()
param plaidSecret string = ''

@description('Bank A (BAI2) delivery credential.')
@secure()
param bankACredential string = ''

@description('Bank B (camt.053) delivery credential.')
@secure()
param bankBCredential string = ''

@description('PostgreSQL host name.')
param postgresHost string

@description('PgBouncer port on the server.')
param pgBouncerPort int

@description('Application database.')
param postgresDatabase string

@description('PostgreSQL login.')
param postgresLogin string

@description('PostgreSQL password.')
@secure()
param postgresPassword string

@description('Npgsql pool size per instance: the connection budget share of one instance.')
param npgsqlMaxPoolSize int

@description('Azure Cache for Redis whose access key goes into the Redis configuration secret.')
param redisName string

var providerSecrets = [
  { name: 'stripe-api-key', value: stripeApiKey }
  { name: 'plaid-client-id', value: plaidClientId }
  { name: 'plaid-secret', value: plaidSecret }
  { name: 'bank-a-credential', value: bankACredential }
  { name: 'bank-b-credential', value: bankBCredential }
]

resource redis 'Microsoft.Cache/redis@2024-11-01' existing = {
  name: redisName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource providerSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for s in providerSecrets: if (!empty(s.value)) {
    parent: vault
    name: s.name
    properties: {
      value: s.value
    }
  }
]

// Through PgBouncer (6432) in transaction mode: no auto-prepare, no reset on close (README, "Configuration").
resource databaseSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'database-connection-string'
  properties: {
    value: 'Host=${postgresHost};Port=${pgBouncerPort};Database=${postgresDatabase};Username=${postgresLogin};Password=${postgresPassword};SSL Mode=Require;Max Auto Prepare=0;No Reset On Close=true;Maximum Pool Size=${npgsqlMaxPoolSize}'
  }
}

resource redisSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'redis-configuration'
  properties: {
    value: '${redis.properties.hostName}:${redis.properties.sslPort},password=${redis.listKeys().primaryKey},ssl=True,abortConnect=False'
  }
}

output id string = vault.id
output name string = vault.name
output vaultUri string = vault.properties.vaultUri
// Secret names, for the Key Vault references in the app settings (names only, never values).
output databaseSecretName string = databaseSecret.name
output redisSecretName string = redisSecret.name
