// PostgreSQL Flexible Server with its built-in PgBouncer (port 6432) in transaction mode. Recon always connects
// through PgBouncer: the server then holds at most `pgBouncerDefaultPoolSize` connections for the recon database,
// however many Function instances are running (DESIGN.md: "500+ connections -> a steady 50").
@description('Name of the flexible server.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the server.')
param tags object

@description('Administrator login (not a secret; the password is).')
param administratorLogin string

@description('Administrator password; also written to Key Vault as part of the connection string.')
@secure()
param administratorPassword string

@description('Compute size. The built-in PgBouncer needs General Purpose or Memory Optimized, not Burstable.')
param skuName string = 'Standard_D2ds_v5'

@description('Compute tier matching skuName.')
@allowed([
  'GeneralPurpose'
  'MemoryOptimized'
])
param skuTier string = 'GeneralPurpose'

@description('Storage size in GiB.')
param storageSizeGB int = 32

@description('PgBouncer max_client_conn: client connections PgBouncer accepts. The connection budget of main.bicep must fit in it.')
@minValue(1)
@maxValue(5000)
param pgBouncerMaxClientConn int

@description('PgBouncer default_pool_size: server connections per user and database, the steady number PostgreSQL sees.')
@minValue(1)
param pgBouncerDefaultPoolSize int

@description('Name of the application database.')
param databaseName string = 'recon'

@description('Log Analytics workspace that receives the server metrics (connections, PgBouncer pools) for the workbook.')
param workspaceId string

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    version: '16'
    administratorLogin: administratorLogin
    administratorLoginPassword: administratorPassword
    authConfig: {
      passwordAuth: 'Enabled'
      activeDirectoryAuth: 'Disabled'
    }
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: 7
      geoRedundantBackup: 'Disabled'
    }
    highAvailability: {
      mode: 'Disabled'
    }
    network: {
      publicNetworkAccess: 'Enabled'
    }
  }

  resource database 'databases' = {
    name: databaseName
    properties: {
      charset: 'UTF8'
      collation: 'en_US.utf8'
    }
  }

  // Flex Consumption apps without a virtual network reach the server from Azure's outbound addresses.
  resource allowAzure 'firewallRules' = {
    name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
    properties: {
      startIpAddress: '0.0.0.0'
      endIpAddress: '0.0.0.0'
    }
  }
}

// Server parameters. The service refuses concurrent parameter updates, hence batchSize(1).
var serverParameters = [
  { name: 'pgbouncer.enabled', value: 'true' }
  // transaction mode: a server connection is lent for one transaction, so Recon sets Max Auto Prepare=0 and
  // No Reset On Close=true and keeps no session state (README, "Configuration").
  { name: 'pgbouncer.pool_mode', value: 'TRANSACTION' }
  { name: 'pgbouncer.default_pool_size', value: string(pgBouncerDefaultPoolSize) }
  { name: 'pgbouncer.max_client_conn', value: string(pgBouncerMaxClientConn) }
  // PgBouncer's pool metrics (server_connections_active, client_connections_waiting) for the workbook.
  { name: 'metrics.pgbouncer_diagnostics', value: 'on' }
]

@batchSize(1)
resource parameters 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = [
  for p in serverParameters: {
    parent: server
    name: p.name
    properties: {
      value: p.value
      source: 'user-override'
    }
  }
]

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: server
  properties: {
    workspaceId: workspaceId
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output id string = server.id
output name string = server.name
output fullyQualifiedDomainName string = server.properties.fullyQualifiedDomainName
output databaseName string = server::database.name
// The built-in PgBouncer listens on 6432 on the same host name.
output pgBouncerPort int = 6432
