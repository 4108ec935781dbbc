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

@description('Recon\'s storage queues: ingestion and the two priority lanes (names as in Recon.Core\'s constants).')
param queueNames array = [
  'recon-ingest'
  'recon-high'
  'recon-low'
]

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
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
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
    resource queue 'queues' = [
      for queueName in queueNames: {
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
