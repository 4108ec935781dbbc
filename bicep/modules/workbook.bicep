// The live view of the spike story. Every query reads the Log Analytics workspace: AppMetrics and AppDependencies
// come from Recon's Meter and ActivitySource "Recon" (metric names and tags: README, "Telemetry"), AzureMetrics from
// the PostgreSQL server's diagnostic setting.
@description('Display name of the workbook.')
param displayName string

@description('Azure region.')
param location string

@description('Tags applied to the workbook.')
param tags object

@description('Log Analytics workspace the queries run against.')
param workspaceId string

var queries = [
  {
    title: 'Provider success rate (%) by provider'
    visualization: 'timechart'
    query: '''
AppMetrics
| where Name == "recon.provider.calls"
| extend provider = tostring(Properties["recon.provider"]), status = toint(Properties["http.response.status_code"])
| summarize calls = sum(Sum), succeeded = sumif(Sum, status >= 200 and status < 300) by provider, bin(TimeGenerated, 1m)
| project TimeGenerated, provider, successRatePercent = round(100.0 * succeeded / calls, 2)
'''
  }
  {
    title: '429 responses per minute by provider and endpoint'
    visualization: 'timechart'
    query: '''
AppMetrics
| where Name == "recon.provider.calls"
| where toint(Properties["http.response.status_code"]) == 429
| extend series = strcat(tostring(Properties["recon.provider"]), " ", tostring(Properties["recon.endpoint"]))
| summarize throttled = sum(Sum) by series, bin(TimeGenerated, 1m)
'''
  }
  {
    title: 'Token waits: count and mean wait (s) by provider'
    visualization: 'timechart'
    query: '''
AppMetrics
| where Name == "recon.token.wait.duration"
| extend provider = tostring(Properties["recon.provider"])
| summarize waits = sum(ItemCount), meanWaitSeconds = round(sum(Sum) / sum(ItemCount), 3), maxWaitSeconds = max(Max) by provider, bin(TimeGenerated, 1m)
'''
  }
  {
    title: 'Database connections: PostgreSQL server and PgBouncer pools'
    visualization: 'timechart'
    query: '''
AzureMetrics
| where ResourceProvider == "MICROSOFT.DBFORPOSTGRESQL"
| where MetricName in ("active_connections", "server_connections_active", "server_connections_idle", "client_connections_active", "client_connections_waiting")
| summarize connections = max(Maximum) by MetricName, bin(TimeGenerated, 1m)
'''
  }
  {
    title: 'Database pool in use per instance (app side)'
    visualization: 'timechart'
    query: '''
AppMetrics
| where Name == "recon.db.pool.in_use"
| extend pool = tostring(Properties["recon.db.pool"])
| summarize inUse = max(Max) by pool, AppRoleInstance, bin(TimeGenerated, 1m)
| summarize inUse = sum(inUse) by pool, TimeGenerated
'''
  }
  {
    title: 'Batch duration P99 and P50 (ms) by priority'
    visualization: 'timechart'
    query: '''
AppDependencies
| where Name == "recon.batch"
| extend priority = tostring(Properties["recon.priority"])
| summarize p99Ms = percentile(DurationMs, 99), p50Ms = percentile(DurationMs, 50) by priority, bin(TimeGenerated, 1m)
'''
  }
  {
    title: 'Queue depths'
    visualization: 'timechart'
    query: '''
AppMetrics
| where Name == "recon.queue.depth"
| extend queue = tostring(Properties["recon.queue"])
| summarize depth = max(Max) by queue, bin(TimeGenerated, 1m)
'''
  }
  {
    title: 'Late batches (over the 30 s window) by priority'
    visualization: 'barchart'
    query: '''
AppMetrics
| where Name == "recon.batches.late"
| extend priority = tostring(Properties["recon.priority"])
| summarize late = sum(Sum) by priority, bin(TimeGenerated, 5m)
'''
  }
  {
    title: 'Reconciliation results by outcome'
    visualization: 'timechart'
    query: '''
AppMetrics
| where Name == "recon.results"
| extend outcome = tostring(Properties["recon.outcome"])
| summarize results = sum(Sum) by outcome, bin(TimeGenerated, 1m)
'''
  }
]

var timeRangeParameter = {
  type: 9
  name: 'parameters'
  content: {
    version: 'KqlParameterItem/1.0'
    parameters: [
      {
        id: 'time-range'
        version: 'KqlParameterItem/1.0'
        name: 'TimeRange'
        type: 4
        isRequired: true
        value: {
          durationMs: 3600000
        }
        typeSettings: {
          allowCustom: true
          selectableValues: [
            { durationMs: 900000 }
            { durationMs: 3600000 }
            { durationMs: 14400000 }
            { durationMs: 86400000 }
          ]
        }
      }
    ]
    style: 'pills'
    queryType: 0
    resourceType: 'microsoft.operationalinsights/workspaces'
  }
}

var header = {
  type: 1
  name: 'header'
  content: {
    json: '## Recon under load\nProvider calls go through the token bucket, batches run by priority, and PgBouncer holds the database to a steady pool. Turn on auto-refresh for a live view.'
  }
}

var queryItems = [
  for (q, i) in queries: {
    type: 3
    name: 'query-${i}'
    content: {
      version: 'KqlItem/1.0'
      title: q.title
      query: q.query
      size: 0
      queryType: 0
      resourceType: 'microsoft.operationalinsights/workspaces'
      visualization: q.visualization
      timeContextFromParameter: 'TimeRange'
      timeContext: {
        durationMs: 3600000
      }
    }
    customWidth: '50'
  }
]

var workbookContent = {
  version: 'Notebook/1.0'
  items: concat([header, timeRangeParameter], queryItems)
  isLocked: false
  fallbackResourceIds: [
    workspaceId
  ]
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // a workbook's name must be a GUID
  name: guid(resourceGroup().id, 'recon-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: workspaceId
    serializedData: string(workbookContent)
  }
}

output id string = workbook.id
