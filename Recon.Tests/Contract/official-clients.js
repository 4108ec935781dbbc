// The official-clients contract: Stripe's and Plaid's own Node clients (npm `stripe`, `plaid`, installed by
// ./recon into .tools) call the sandbox the way Recon's code and a Stripe/Plaid user would, and every answer is
// compared with what the real API sends. Driven by Recon.Tests/Contract/OfficialClientsContractTests.cs, which starts
// a sandbox of its own; this script loads its data through the sandbox admin API, so it never shares data.
//
// Input (env): SANDBOX_URL, SANDBOX_ADMIN_KEY, STRIPE_KEY, PLAID_CLIENT_ID, PLAID_SECRET, NODE_PATH (→ .tools/node_modules).
// Output: one JSON line on stdout: {"checks":[{"name","ok","detail"}]}. Exit 0 even when checks fail (the test asserts).
//
// Field lists below are the providers' published definitions, not the sandbox's:
//  - Stripe: openapi/fixtures3.json of github.com/stripe/openapi at f6c2a48fbac2819d1feba8143d942ffc65e1c0d2
//  - Plaid: 2020-09-14.yml of github.com/plaid/plaid-openapi at 26f1a0588c12e765e99c815300d94eae0a3c7dc1
//    (required keys of Transaction, PaymentMeta, Location, AccountBase, AccountBalance, PlaidError)
'use strict';

const Stripe = require('stripe');
const plaid = require('plaid');

const STRIPE_FIELDS = {
  balance_transaction: ['amount', 'available_on', 'balance_type', 'created', 'currency', 'description', 'exchange_rate', 'fee',
    'fee_details', 'id', 'net', 'object', 'reporting_category', 'source', 'status', 'type'],
  charge: ['amount', 'amount_captured', 'amount_refunded', 'application', 'application_fee', 'application_fee_amount',
    'balance_transaction', 'billing_details', 'calculated_statement_descriptor', 'captured', 'created', 'currency', 'customer',
    'description', 'disputed', 'failure_balance_transaction', 'failure_code', 'failure_message', 'fraud_details', 'id', 'livemode',
    'metadata', 'object', 'on_behalf_of', 'outcome', 'paid', 'payment_intent', 'payment_method', 'payment_method_details',
    'receipt_email', 'receipt_number', 'receipt_url', 'refunded', 'refunds', 'review', 'shipping', 'source_transfer',
    'statement_descriptor', 'statement_descriptor_suffix', 'status', 'transfer_data', 'transfer_group'],
  payout: ['amount', 'application_fee', 'application_fee_amount', 'arrival_date', 'automatic', 'balance_transaction', 'created',
    'currency', 'description', 'destination', 'failure_balance_transaction', 'failure_code', 'failure_message', 'id', 'livemode',
    'metadata', 'method', 'object', 'original_payout', 'payout_method', 'reconciliation_status', 'reversed_by', 'source_type',
    'statement_descriptor', 'status', 'trace_id', 'type'],
};
const PLAID_TRANSACTION_REQUIRED = ['account_id', 'amount', 'iso_currency_code', 'unofficial_currency_code', 'date', 'pending',
  'transaction_id', 'account_owner', 'pending_transaction_id', 'payment_channel', 'payment_meta', 'name', 'location',
  'authorized_date', 'authorized_datetime', 'datetime', 'transaction_code'];
const PLAID_PAYMENT_META_REQUIRED = ['reference_number', 'ppd_id', 'payee', 'by_order_of', 'payer', 'payment_method', 'payment_processor', 'reason'];
const PLAID_LOCATION_REQUIRED = ['address', 'city', 'region', 'postal_code', 'country', 'lat', 'lon', 'store_number'];
const PLAID_ACCOUNT_REQUIRED = ['account_id', 'balances', 'mask', 'name', 'official_name', 'type', 'subtype'];
const PLAID_BALANCE_REQUIRED = ['available', 'current', 'limit', 'iso_currency_code', 'unofficial_currency_code'];
const PLAID_ERROR_REQUIRED = ['error_type', 'error_code', 'error_message', 'display_message'];

const base = process.env.SANDBOX_URL;
const adminKey = process.env.SANDBOX_ADMIN_KEY;
const url = new URL(base);
const checks = [];

function check(name, ok, detail) {
  checks.push({ name, ok: !!ok, detail: ok ? '' : String(detail ?? '') });
}

async function run(name, fn) {
  try {
    await fn();
  } catch (e) {
    check(name, false, `threw ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
  }
}

function missing(obj, keys) {
  return keys.filter((k) => !Object.prototype.hasOwnProperty.call(obj, k));
}

async function admin(method, path, body) {
  const res = await fetch(`${base}/admin${path}`, {
    method,
    headers: { 'X-Sandbox-Admin-Key': adminKey, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const DEFAULT_BEHAVIOR = { limits_enabled: false };
async function behave(b) {
  await admin('PUT', '/behavior', { ...DEFAULT_BEHAVIOR, ...b });
}

// stripe-node aimed at the sandbox: plain http on loopback, no retries unless a check asks for them
function stripeClient(key, extra) {
  return new Stripe(key, { host: url.hostname, port: url.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false, ...extra });
}

function plaidClient(clientId, secret) {
  const headers = {};
  if (clientId !== undefined) headers['PLAID-CLIENT-ID'] = clientId;
  if (secret !== undefined) headers['PLAID-SECRET'] = secret;
  return new plaid.PlaidApi(new plaid.Configuration({ basePath: base, baseOptions: { headers } }));
}

const T0 = 1767225600; // 2026-01-01T00:00:00Z
const BT_COUNT = 25;

async function loadStripe() {
  const bts = [];
  const charges = [];
  const payouts = [];
  for (let i = 0; i < BT_COUNT; i++) {
    const isPayout = i % 5 === 4;
    const source = isPayout ? `po_c${String(i).padStart(4, '0')}` : `ch_c${String(i).padStart(4, '0')}`;
    const currency = i % 3 === 0 ? 'eur' : 'usd';
    const amount = isPayout ? -(10000 + i) : 1000 + i;
    const fee = isPayout ? 0 : 59;
    // a bare object: the sandbox must complete it to Stripe's fields (the check below looks for every one)
    bts.push({ id: `txn_c${String(i).padStart(4, '0')}`, object: 'balance_transaction', amount, fee, currency, created: T0 + i * 60,
      type: isPayout ? 'payout' : 'charge', source, description: `contract ${i}`, payout: i < 10 ? 'po_c0004' : undefined });
    if (isPayout) {
      payouts.push({ id: source, object: 'payout', amount: -amount, currency, created: T0 + i * 60, status: i % 10 === 4 ? 'paid' : 'in_transit',
        balance_transaction: `txn_c${String(i).padStart(4, '0')}` });
    } else {
      charges.push({ id: source, object: 'charge', amount, currency, created: T0 + i * 60, customer: i % 2 === 0 ? 'cus_even' : 'cus_odd',
        balance_transaction: `txn_c${String(i).padStart(4, '0')}` });
    }
  }
  await admin('POST', '/stripe/balance_transaction', bts);
  await admin('POST', '/stripe/charge', charges);
  await admin('POST', '/stripe/payout', payouts);
  return { bts, charges, payouts };
}

async function stripeChecks(key) {
  const data = await loadStripe();
  const stripe = stripeClient(key);

  await run('stripe.list.page_and_request_id', async () => {
    const page = await stripe.balanceTransactions.list({ limit: 3 });
    check('stripe.list.page_and_request_id', page.object === 'list' && page.data.length === 3 && page.has_more === true
      && page.data[0].id === 'txn_c0024' && /^req_/.test(page.lastResponse.requestId || ''),
    `object ${page.object}, ${page.data.length} items, has_more ${page.has_more}, first ${page.data[0] && page.data[0].id}, request id ${page.lastResponse.requestId}`);
  });

  for (const [resource, type] of [['balanceTransactions', 'balance_transaction'], ['charges', 'charge'], ['payouts', 'payout']]) {
    await run(`stripe.fields.${type}`, async () => {
      const page = await stripe[resource].list({ limit: 100 });
      const gaps = page.data.map((o) => missing(o, STRIPE_FIELDS[type])).filter((m) => m.length > 0);
      check(`stripe.fields.${type}`, page.data.length > 0 && gaps.length === 0, `missing ${JSON.stringify(gaps[0])}`);
    });
  }

  await run('stripe.auto_paging.all_once_newest_first', async () => {
    const all = await stripe.balanceTransactions.list({ limit: 4 }).autoPagingToArray({ limit: 1000 });
    const ids = all.map((o) => o.id);
    const sorted = [...data.bts].sort((a, b) => b.created - a.created).map((o) => o.id);
    check('stripe.auto_paging.all_once_newest_first', JSON.stringify(ids) === JSON.stringify(sorted), `got ${ids.join(',')}`);
  });

  await run('stripe.ending_before', async () => {
    const page = await stripe.balanceTransactions.list({ limit: 2, ending_before: 'txn_c0010' });
    const ids = page.data.map((o) => o.id);
    check('stripe.ending_before', JSON.stringify(ids) === JSON.stringify(['txn_c0012', 'txn_c0011']), `got ${ids}`);
  });

  const filters = [
    ['stripe.filter.type', () => stripe.balanceTransactions.list({ limit: 100, type: 'payout' }), (o) => o.type === 'payout', data.bts.filter((o) => o.type === 'payout').length],
    ['stripe.filter.currency', () => stripe.balanceTransactions.list({ limit: 100, currency: 'EUR' }), (o) => o.currency === 'eur', data.bts.filter((o) => o.currency === 'eur').length],
    ['stripe.filter.source', () => stripe.balanceTransactions.list({ limit: 100, source: 'ch_c0007' }), (o) => o.source === 'ch_c0007', 1],
    ['stripe.filter.payout', () => stripe.balanceTransactions.list({ limit: 100, payout: 'po_c0004' }), () => true, 10],
    ['stripe.filter.created', () => stripe.balanceTransactions.list({ limit: 100, created: { gte: T0 + 600, lt: T0 + 1200 } }), (o) => o.created >= T0 + 600 && o.created < T0 + 1200, 10],
    ['stripe.filter.payout_status', () => stripe.payouts.list({ limit: 100, status: 'paid' }), (o) => o.status === 'paid', data.payouts.filter((o) => o.status === 'paid').length],
    ['stripe.filter.charge_customer', () => stripe.charges.list({ limit: 100, customer: 'cus_even' }), (o) => o.customer === 'cus_even', data.charges.filter((o) => o.customer === 'cus_even').length],
  ];
  for (const [name, call, each, count] of filters) {
    await run(name, async () => {
      const page = await call();
      check(name, page.data.length === count && page.data.every(each), `${page.data.length} objects (want ${count}): ${page.data.map((o) => o.id).join(',')}`);
    });
  }

  await run('stripe.expand.list_source', async () => {
    const page = await stripe.balanceTransactions.list({ limit: 5, expand: ['data.source'] });
    const kinds = page.data.map((o) => (o.source && typeof o.source === 'object' ? o.source.object : typeof o.source));
    check('stripe.expand.list_source', kinds.length === 5 && kinds.every((k) => k === 'charge' || k === 'payout'), `source kinds ${kinds}`);
  });
  await run('stripe.expand.retrieve_balance_transaction', async () => {
    const charge = await stripe.charges.retrieve('ch_c0001', { expand: ['balance_transaction'] });
    check('stripe.expand.retrieve_balance_transaction', charge.balance_transaction && charge.balance_transaction.object === 'balance_transaction'
      && charge.balance_transaction.id === 'txn_c0001', `balance_transaction ${JSON.stringify(charge.balance_transaction)}`);
  });
  await run('stripe.expand.not_expandable', async () => {
    try {
      await stripe.balanceTransactions.list({ limit: 1, expand: ['data.fee'] });
      check('stripe.expand.not_expandable', false, 'answered 200');
    } catch (e) {
      check('stripe.expand.not_expandable', e.type === 'StripeInvalidRequestError' && e.statusCode === 400 && /cannot be expanded/.test(e.message), `${e.type} ${e.statusCode} ${e.message}`);
    }
  });

  async function expectError(name, call, want) {
    await run(name, async () => {
      try {
        await call();
        check(name, false, 'answered 2xx');
      } catch (e) {
        const got = { type: e.type, statusCode: e.statusCode, code: e.code, param: e.param, rawType: e.raw && e.raw.type };
        const ok = Object.entries(want).every(([k, v]) => (v instanceof RegExp ? v.test(String(e[k])) : got[k] === v || e[k] === v))
          && /^req_/.test(e.requestId || '');
        check(name, ok, `${JSON.stringify(got)} message ${e.message} request id ${e.requestId}`);
      }
    });
  }

  await expectError('stripe.error.unknown_parameter', () => stripe.balanceTransactions.list({ limit: 1, colour: 'blue' }),
    { type: 'StripeInvalidRequestError', statusCode: 400, code: 'parameter_unknown', param: 'colour' });
  await expectError('stripe.error.invalid_limit', () => stripe.balanceTransactions.list({ limit: 1000 }),
    { type: 'StripeInvalidRequestError', statusCode: 400, param: 'limit' });
  await expectError('stripe.error.no_such_object', () => stripe.payouts.retrieve('po_missing'),
    { type: 'StripeInvalidRequestError', statusCode: 404, code: 'resource_missing', param: 'id' });
  await expectError('stripe.error.unknown_payout_filter', () => stripe.balanceTransactions.list({ payout: 'po_missing' }),
    { type: 'StripeInvalidRequestError', statusCode: 404, code: 'resource_missing', param: 'payout' });
  await expectError('stripe.error.unrecognized_url', () => stripe.rawRequest('GET', '/v1/balance_transactionz', {}),
    { type: 'StripeInvalidRequestError', statusCode: 404, rawType: 'invalid_request_error', message: /^Unrecognized request URL \(GET: \/v1\/balance_transactionz\)/ });
  await expectError('stripe.error.unsupported_method', () => stripe.rawRequest('DELETE', '/v1/balance_transactions/txn_c0001', {}),
    { type: 'StripeInvalidRequestError', statusCode: 404, message: /^Unrecognized request URL \(DELETE: / });
  await expectError('stripe.auth.wrong_key', () => stripeClient('sk_test_wrongwrongwrong1234').balanceTransactions.list({ limit: 1 }),
    { type: 'StripeAuthenticationError', statusCode: 401, message: /Invalid API Key provided: sk_test_\*+1234/ });

  // 429 as Stripe sends it: rate_limit code, Stripe-Should-Retry: false, and no Retry-After
  await run('stripe.429.real_headers', async () => {
    await behave({ limits_enabled: true, stripe_test_mode_per_second: 1, stripe_global_per_second: 1, stripe_per_endpoint_per_second: 1 });
    let err = null;
    for (let i = 0; i < 4 && !err; i++) {
      try {
        await stripe.balanceTransactions.list({ limit: 1 });
      } catch (e) {
        err = e;
      }
    }
    await behave({});
    const h = (err && err.headers) || {};
    check('stripe.429.real_headers', err && err.type === 'StripeRateLimitError' && err.statusCode === 429 && err.code === 'rate_limit'
      && h['stripe-should-retry'] === 'false' && !('retry-after' in h) && /^req_/.test(err.requestId || ''),
    err ? `${err.type} ${err.statusCode} ${err.code} headers ${JSON.stringify(h)}` : 'no 429 in 4 calls at 1/s');
  });
  await run('stripe.429.test_mode_limit_25', async () => {
    // a sk_test_ key gets Stripe's test-mode limit: 25 calls in one second pass, the 26th... is refused
    await behave({ limits_enabled: true });
    const results = [];
    // start right after a second boundary so all calls fall in one window
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
    const calls = [];
    for (let i = 0; i < 30; i++) calls.push(stripe.balanceTransactions.list({ limit: 1 }).then(() => 200, (e) => e.statusCode));
    results.push(...(await Promise.all(calls)));
    await behave({});
    const ok = results.filter((s) => s === 200).length;
    const throttled = results.filter((s) => s === 429).length;
    check('stripe.429.test_mode_limit_25', ok >= 25 && throttled >= 1 && ok + throttled === 30, `${ok} ok, ${throttled} throttled, statuses ${results}`);
  });
  // 5xx: Stripe-Should-Retry: true, so the official client (given retries) repeats the call once and then surfaces it
  await run('stripe.5xx.should_retry_honoured', async () => {
    await behave({ server_error_share: 1 });
    await admin('POST', '/counters/reset');
    let err = null;
    try {
      await stripeClient(key, { maxNetworkRetries: 1 }).balanceTransactions.list({ limit: 1 });
    } catch (e) {
      err = e;
    }
    await behave({});
    const counters = await admin('GET', '/counters');
    const h = (err && err.headers) || {};
    check('stripe.5xx.should_retry_honoured', err && err.type === 'StripeAPIError' && err.statusCode === 500 && h['stripe-should-retry'] === 'true'
      && counters.total.server_errors === 2, `${err && err.type} ${err && err.statusCode} headers ${JSON.stringify(h)} server errors ${counters.total.server_errors}`);
  });
}

const PLAID_TOKEN = 'access-sandbox-contract';

async function loadPlaid() {
  const tx = (id, account, amount, date, extra) => ({ kind: 'added', transaction: { transaction_id: id, account_id: account, amount,
    iso_currency_code: 'USD', date, name: `purchase ${id}`, pending: false, payment_meta: { reference_number: `ref-${id}` }, ...extra } });
  // amounts given with two decimals: Plaid writes 26.1 and 100, so the sandbox must too
  const events = [
    tx('tx_p1', 'acc_checking', '26.10', '2026-01-02'), tx('tx_p2', 'acc_checking', '100.00', '2026-01-02'),
    tx('tx_p3', 'acc_savings', '-250.50', '2026-01-03'), tx('tx_p4', 'acc_checking', '12.34', '2026-01-03'),
    tx('tx_p5', 'acc_savings', '7.00', '2026-01-04', { original_description: 'POS 7.00 CORNER SHOP 0412' }),
  ];
  // written as text so the amounts reach the sandbox as 26.10 and 100.00 (JSON.stringify would already shorten them)
  const text = JSON.stringify(events).replace(/"amount":"([-0-9.]+)"/g, '"amount":$1');
  await admin('POST', `/plaid/items/${PLAID_TOKEN}/events`, text);
  return events;
}

async function plaidChecks(clientId, secret) {
  const events = await loadPlaid();
  const client = plaidClient(clientId, secret);

  await run('plaid.sync.paging_and_shapes', async () => {
    const added = [];
    let cursor;
    let pages = 0;
    let accounts = [];
    for (;;) {
      const res = await client.transactionsSync({ access_token: PLAID_TOKEN, cursor, count: 2 });
      pages++;
      added.push(...res.data.added);
      accounts = res.data.accounts;
      cursor = res.data.next_cursor;
      if (!res.data.has_more) break;
      if (pages > 10) throw new Error('more than 10 pages');
    }
    const gaps = added.map((t) => [...missing(t, PLAID_TRANSACTION_REQUIRED), ...missing(t.payment_meta || {}, PLAID_PAYMENT_META_REQUIRED).map((k) => `payment_meta.${k}`),
      ...missing(t.location || {}, PLAID_LOCATION_REQUIRED).map((k) => `location.${k}`)]).filter((m) => m.length > 0);
    check('plaid.sync.paging', pages === 3 && added.length === events.length, `${pages} pages, ${added.length} added`);
    check('plaid.sync.transaction_fields', gaps.length === 0, `missing ${JSON.stringify(gaps[0])}`);
    const accountGaps = accounts.map((a) => [...missing(a, PLAID_ACCOUNT_REQUIRED), ...missing(a.balances || {}, PLAID_BALANCE_REQUIRED).map((k) => `balances.${k}`)]).filter((m) => m.length > 0);
    check('plaid.sync.accounts', accounts.length === 2 && accountGaps.length === 0, `${accounts.length} accounts, missing ${JSON.stringify(accountGaps[0])}`);
    check('plaid.sync.original_description_off_by_default', added.every((t) => t.original_description === null), `${added.map((t) => t.original_description)}`);
  });

  await run('plaid.sync.original_description_on_request', async () => {
    const res = await client.transactionsSync({ access_token: PLAID_TOKEN, count: 10, options: { include_original_description: true } });
    const t5 = res.data.added.find((t) => t.transaction_id === 'tx_p5');
    check('plaid.sync.original_description_on_request', t5 && t5.original_description === 'POS 7.00 CORNER SHOP 0412'
      && res.data.added.every((t) => typeof t.original_description === 'string'), `${res.data.added.map((t) => t.original_description)}`);
  });

  await run('plaid.sync.amounts_plain_numbers', async () => {
    // the client parses JSON, so the wire text is read here with fetch: 26.1, not 26.10; 100, not 100.00
    const res = await fetch(`${base}/transactions/sync`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: clientId, secret, access_token: PLAID_TOKEN, count: 10 }) });
    const text = await res.text();
    const amounts = [...text.matchAll(/"amount":(-?[0-9.eE+]+)/g)].map((m) => m[1]);
    check('plaid.sync.amounts_plain_numbers', JSON.stringify(amounts) === JSON.stringify(['26.1', '100', '-250.5', '12.34', '7']), `amounts ${amounts}`);
  });

  async function expectPlaidError(name, call, status, type, code) {
    await run(name, async () => {
      try {
        await call();
        check(name, false, 'answered 200');
      } catch (e) {
        const r = e.response || {};
        const body = r.data || {};
        const h = r.headers || {};
        check(name, r.status === status && body.error_type === type && body.error_code === code && missing(body, PLAID_ERROR_REQUIRED).length === 0
          && typeof body.request_id === 'string' && !('retry-after' in h),
        `${r.status} ${body.error_type}/${body.error_code} missing ${missing(body, PLAID_ERROR_REQUIRED)} headers ${JSON.stringify(h)}`);
      }
    });
  }

  await expectPlaidError('plaid.auth.missing_credentials', () => plaidClient(undefined, undefined).transactionsSync({ access_token: PLAID_TOKEN }),
    400, 'INVALID_REQUEST', 'MISSING_FIELDS');
  await expectPlaidError('plaid.auth.wrong_secret', () => plaidClient(clientId, 'wrong-secret').transactionsSync({ access_token: PLAID_TOKEN }),
    400, 'INVALID_INPUT', 'INVALID_API_KEYS');
  await expectPlaidError('plaid.error.unknown_access_token', () => client.transactionsSync({ access_token: 'access-sandbox-nope' }),
    400, 'INVALID_INPUT', 'INVALID_ACCESS_TOKEN');
  await expectPlaidError('plaid.error.count_out_of_range', () => client.transactionsSync({ access_token: PLAID_TOKEN, count: 501 }),
    400, 'INVALID_REQUEST', 'INVALID_FIELD');
  await admin('POST', `/plaid/items/${PLAID_TOKEN}/faults`, { mutation_errors: 0, mutation_events: [], rate_limit_errors: 1 });
  await expectPlaidError('plaid.429.rate_limit_exceeded', () => client.transactionsSync({ access_token: PLAID_TOKEN }),
    429, 'RATE_LIMIT_EXCEEDED', 'TRANSACTIONS_SYNC_LIMIT');
  await behave({ server_error_share: 1 });
  await expectPlaidError('plaid.5xx.api_error', () => client.transactionsSync({ access_token: PLAID_TOKEN }), 500, 'API_ERROR', 'INTERNAL_SERVER_ERROR');
  await behave({});
}

(async () => {
  try {
    await behave({});
    await stripeChecks(process.env.STRIPE_KEY);
    await plaidChecks(process.env.PLAID_CLIENT_ID, process.env.PLAID_SECRET);
  } catch (e) {
    check('script.completed', false, `${e && e.stack}`);
  }
  process.stdout.write(JSON.stringify({ checks }) + '\n');
})();
