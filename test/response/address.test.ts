import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { contains, formatNetwork, NetworkList, parseNetwork, widen } from '../../src/response/address.js';

const canon = (text: string): string | undefined => {
  const n = parseNetwork(text);
  return n && formatNetwork(n);
};

describe('parseNetwork / formatNetwork', () => {
  it('normalises addresses and networks to one text', () => {
    assert.equal(canon('203.0.113.5'), '203.0.113.5');
    assert.equal(canon('203.0.113.5/32'), '203.0.113.5');
    assert.equal(canon('203.0.113.77/24'), '203.0.113.0/24');
    assert.equal(canon('::ffff:203.0.113.5'), '203.0.113.5', 'IPv4-mapped becomes IPv4');
    assert.equal(canon('::FFFF:cb00:7105'), '203.0.113.5', 'mapped in hex groups too');
    assert.equal(canon('::ffff:203.0.113.0/120'), '203.0.113.0/24');
    assert.equal(canon('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
    assert.equal(canon('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1', 'first longest zero run');
    assert.equal(canon('2001:db8::1:2:3:4:5'), '2001:db8:0:1:2:3:4:5', 'a single zero group is not compressed');
    assert.equal(canon('2001:db8:1:2:3:4:5:6/64'), '2001:db8:1:2::/64');
    assert.equal(canon('::'), '::');
    assert.equal(canon('::1'), '::1');
    assert.equal(canon('0.0.0.0/0'), '0.0.0.0/0');
    assert.equal(canon('::/0'), '::/0');
  });

  it('refuses anything that is not an address', () => {
    for (const bad of [
      '',
      'localhost',
      'evil.example.com',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '1.2.3.4/33',
      '1.2.3.4/',
      '1.2.3.4/024',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '1.2.3.4\n',
      '1.2.3.4; flush ruleset',
      '[2001:db8::1]',
      'fe80::1%eth0',
      '2001:db8:::1',
      '1::2::3',
      '2001:db8::/129',
      '12345::',
      'g::1',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '::1.2.3',
      'x'.repeat(100),
      '1.2.3.4/ 24',
    ]) {
      assert.equal(parseNetwork(bad), undefined, JSON.stringify(bad));
    }
  });

  it('widens and tests containment', () => {
    const a = parseNetwork('2001:db8:1:2:aaaa::1')!;
    assert.equal(formatNetwork(widen(a, 64)), '2001:db8:1:2::/64');
    assert.equal(formatNetwork(widen(parseNetwork('198.51.100.77')!, 24)), '198.51.100.0/24');
    assert.ok(contains(parseNetwork('198.51.100.0/24')!, parseNetwork('198.51.100.255')!));
    assert.ok(!contains(parseNetwork('198.51.100.0/24')!, parseNetwork('198.51.101.0')!));
    assert.ok(!contains(parseNetwork('::/0')!, parseNetwork('1.2.3.4')!), 'families never mix');
    assert.ok(!contains(parseNetwork('198.51.100.7')!, parseNetwork('198.51.100.0/24')!));
  });
});

describe('NetworkList', () => {
  it('finds the entry that holds an address, by every prefix length present', () => {
    const list = new NetworkList(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '127.0.0.0/8'].map((t) => parseNetwork(t)!));
    assert.equal(formatNetwork(list.find(parseNetwork('10.200.3.4')!)!), '10.0.0.0/8');
    assert.ok(list.has(parseNetwork('192.0.2.7')!));
    assert.ok(!list.has(parseNetwork('192.0.2.8')!));
    assert.ok(list.has(parseNetwork('2001:db8:ffff::1')!));
    assert.ok(list.has(parseNetwork('10.1.0.0/16')!), 'a network inside an entry');
    assert.ok(!list.has(parseNetwork('0.0.0.0/0')!), 'a network wider than every entry');
    assert.ok(list.has(parseNetwork('::ffff:127.0.0.1')!), 'mapped loopback is loopback');
  });
});
