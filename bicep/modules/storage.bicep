// Storage for the Functions host, Durable Task (queues, tables, blobs) and Recon's own priority queues.
// Shared keys are off: every client authenticates with the managed identity.
@description('Name of the storage account (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Blob container the Flex Consumption plan deploys the Functions package from.')
param deploymentContainerName string

@description('Recon\'s storage queues: ingestion, the two priority lanes and ledger imports (names as in Recon.Core\'s constants), each with its poison queue.')
param queueNames array = [
  'recon-ingest'
  'recon-high'
  'recon-low'
  'recon-ledger'
]

@description('Private networking: no public endpoint; the app reaches blob, queue and table through private endpoints.')
param privateNetworking bool

@description('Replication: LRS in dev, ZRS in prod.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param skuName string = 'Standard_LRS'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Private: the app reaches blob, queue and table through its VNet integration and the private endpoints. That
    // includes the Flex deployment package: azd and AzureFunctionApp@2 publish it to the app's own (public, Entra-
    // protected) endpoint, and the app stores it in and pulls it from the container below through the VNet, as the
    // Azure Flex quickstart templates do with public access disabled. Nothing outside the VNet needs this account.
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource blobs 'blobServices' = {
    name: 'default'
    resource deployment 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }

  // Durable Task's Azure Storage backend keeps its control and work-item queues here...
  resource queues 'queueServices' = {
    name: 'default'
    // <name>-poison: where the Functions host moves a message after maxDequeueCount failed attempts (host.json). The
    // host creates them on first use, but the alerts watch their depth from the first deployment and the app's
    // identity needs no right to create queues.
    resource queue 'queues' = [
      for queueName in flatten(map(queueNames, q => [q, '${q}-poison'])): {
        name: queueName
      }
    ]
  }

  // ...and its history and instances tables here.
  resource tables 'tableServices' = {
    name: 'default'
  }
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
