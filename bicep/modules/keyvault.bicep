// Key Vault with RBAC: the provider secrets, which the Function App reads only through Key Vault references in its app
// settings. PostgreSQL and Redis need none: the app signs in to both with its identity.
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

@description('Private networking: no public endpoint; the app resolves its Key Vault references through the private endpoint.')
param privateNetworking bool

var providerSecrets = [
  { name: 'stripe-api-key', value: stripeApiKey }
  { name: 'plaid-client-id', value: plaidClientId }
  { name: 'plaid-secret', value: plaidSecret }
  { name: 'bank-a-credential', value: bankACredential }
  { name: 'bank-b-credential', value: bankBCredential }
]

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
    // Secrets written by this template go through Resource Manager (the control plane), which public-access rules
    // do not affect; only data-plane reads (the app's Key Vault references) need the private endpoint.
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
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

output id string = vault.id
output name string = vault.name
output vaultUri string = vault.properties.vaultUri
