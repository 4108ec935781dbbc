// What Azurite 3.35.0 (LokiJS 1.5.12, in-memory) spends per queue call and per GC sweep, by stored messages/extents.
// Mirrors LokiQueueMetadataStore.clearExpiredMessages (run by every queue call) and the 60 s extent sweep. Run: node docs/azurite-loki-cost.js
const Loki = require(require('path').join(__dirname, '..', '.tools', 'node_modules', 'lokijs'));
const { randomUUID } = require('crypto');
function msgs(n){
  const db = new Loki('x', {persistenceMethod:'memory'});
  const c = db.addCollection('m', {indices:["accountName","queueName","messageId","visibleTime"]});
  for (let i=0;i<n;i++) c.insert({accountName:'devstoreaccount1', queueName: i%20==0?'q-high':'q-low', messageId: randomUUID(), timeNextVisible: Date.now(), expirationTime: Date.now()+7*864e5, dequeueCount:0});
  return c;
}
for (const n of [250, 500, 1000, 2000, 4000]) {
  const c = msgs(n);
  const reps = 50; let t=process.hrtime.bigint();
  for (let r=0;r<reps;r++){ // what clearExpiredMessages does on every queue call
    const docs = c.chain().find({accountName:'devstoreaccount1', queueName:'q-low', expirationTime:{$lte: Date.now()}}).data();
    c.remove(docs);
  }
  const clear = Number(process.hrtime.bigint()-t)/1e6/reps;
  t=process.hrtime.bigint();
  for (let r=0;r<reps;r++){ // receive: find visible + sort + limit 32
    c.chain().find({accountName:'devstoreaccount1', queueName:'q-low', timeNextVisible:{$lte: Date.now()}}).compoundsort([["timeNextVisible",false],["$loki",false]]).limit(32).data();
  }
  const recv = Number(process.hrtime.bigint()-t)/1e6/reps;
  console.log(`messages ${n}: clearExpiredMessages (runs on every queue call) ${clear.toFixed(2)} ms, receive query ${recv.toFixed(2)} ms`);
}
for (const n of [1000, 2000, 3300]) {
  const db = new Loki('y', {persistenceMethod:'memory'});
  const e = db.addCollection('e', {indices:["id"]});
  const ids=[]; for (let i=0;i<n;i++){ const id=randomUUID(); ids.push(id); e.insert({id, locationId:id, path:id, size:300, lastModifiedInMS:Date.now()}); }
  const t=process.hrtime.bigint();
  for (const id of ids.slice(0, Math.round(n*0.9))) e.findAndRemove({id}); // GC sweep: one findAndRemove per unreferenced extent
  console.log(`extents ${n}: GC deleting ${Math.round(n*0.9)} of them ${(Number(process.hrtime.bigint()-t)/1e6).toFixed(0)} ms (one synchronous pass)`);
}
