// Log alerts on the three signals that mean the spike controls are failing: providers throttling us (token bucket
// mis-sized or bypassed), batches missing their 30 s window, and messages landing in poison queues.
@description('Azure region.')
param location string

@description('Tags applied to the rules and the action group.')
param tags object

@description('Log Analytics workspace the rules query.')
param workspaceId string

@description('Name prefix for the rules.')
param namePrefix string

@description('Email that receives the alerts; empty for none (the rules still fire in the portal).')
param alertEmail string = ''

@description('Alert when more than this share of provider calls in 15 minutes answered 429 (percent). The design target is 99.8% success, so 1% throttled is already a fault.')
param throttledPercentThreshold int = 1

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-oncall'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'recon'
    enabled: true
    emailReceivers: empty(alertEmail)
      ? []
      : [
          {
            name: 'oncall'
            emailAddress: alertEmail
            useCommonAlertSchema: true
          }
        ]
  }
}

var rules = [
  {
    name: 'provider-429-rate'
    displayName: 'Recon: provider 429 rate above ${throttledPercentThreshold}%'
    severity: 2
    measure: 'throttledPercent'
    threshold: throttledPercentThreshold
    query: '''
AppMetrics
| where Name == "recon.provider.calls"
| extend status = toint(Properties["http.response.status_code"])
| summarize calls = sum(Sum), throttled = sumif(Sum, status == 429)
| where calls > 0
| project throttledPercent = 100.0 * throttled / calls
'''
  }
  {
    name: 'late-batches'
    displayName: 'Recon: batches finished after their 30 s window'
    severity: 2
    measure: 'late'
    threshold: 0
    query: '''
AppMetrics
| where Name == "recon.batches.late"
| summarize late = sum(Sum)
'''
  }
  {
    name: 'poison-messages'
    displayName: 'Recon: messages in a poison queue'
    severity: 1
    measure: 'poison'
    threshold: 0
    query: '''
AppMetrics
| where Name == "recon.queue.depth"
| where tostring(Properties["recon.queue"]) endswith "-poison"
| summarize poison = max(Max)
'''
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [
  for r in rules: {
    name: '${namePrefix}-${r.name}'
    location: location
    tags: tags
    properties: {
      displayName: r.displayName
      severity: r.severity
      enabled: true
      evaluationFrequency: 'PT5M'
      windowSize: 'PT15M'
      scopes: [
        workspaceId
      ]
      autoMitigate: true
      criteria: {
        allOf: [
          {
            query: r.query
            timeAggregation: 'Maximum'
            metricMeasureColumn: r.measure
            operator: 'GreaterThan'
            threshold: r.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      actions: {
        actionGroups: [
          actionGroup.id
        ]
      }
    }
  }
]

output actionGroupId string = actionGroup.id
