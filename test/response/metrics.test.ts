// Every ban and unban is a Prometheus counter: HostwardenMetrics observing a BanManager.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { HostwardenMetrics } from '../../src/fleet/metrics.js';
import { BanManager } from '../../src/response/ban-manager.js';
import { MemoryBackend } from '../../src/response/memory-backend.js';

describe('ban metrics', () => {
  it('counts bans per rule and unbans per reason', async () => {
    const registry = new Registry();
    const bans = new BanManager({ backend: new MemoryBackend(), ignoreSshSession: false });
    const metrics = new HostwardenMetrics({ registry }).observe(bans);
    await bans.start();
    await bans.ban('203.0.113.5');
    await bans.ban('203.0.113.6', { rule: 'sshd.brute-force' });
    await bans.unban('203.0.113.5');
    const text = await registry.metrics();
    assert.match(text, /hostwarden_bans_total\{rule="manual",mode="enforce"\} 1/);
    assert.match(text, /hostwarden_bans_total\{rule="sshd.brute-force",mode="enforce"\} 1/);
    assert.match(text, /hostwarden_unbans_total\{reason="manual",mode="enforce"\} 1/);
    assert.match(text, /hostwarden_alerts_total\{source="response",rule="ban.added",severity="warning",status="firing"\} 2/);
    await bans.stop();
    metrics.close();
  });
});
