import { describe, expect, it } from 'vitest';
import { checkTemplate } from '../../../shared/config/index.ts';

describe('checkTemplate', () => {
  it('accepts slots over every field of the EventBridge view, with or without spaces', () => {
    const template = '{{id}} {{ source }} {{detail-type}} {{region}} {{account}} {{time}} {{version}} {{resources.0}} {{ detail.customer.tier }}';

    expect(checkTemplate(template)).toEqual([]);
  });

  it('leaves single braces alone, so prompts can show JSON examples', () => {
    expect(checkTemplate('Answer like {"score": 10} for {{detail.id}}')).toEqual([]);
  });

  it('rejects an empty slot', () => {
    expect(checkTemplate('Hi {{ }}')).toEqual(['slot "{{ }}" is empty: expected a path such as detail.orderId']);
  });

  it('rejects a path that does not start with a view field, naming the slot', () => {
    expect(checkTemplate('{{orderId}}')).toEqual([
      'slot "{{orderId}}" must start with one of version | id | detail-type | source | account | time | region | resources | detail, got "orderId"',
    ]);
  });

  it('rejects going inside a plain value and empty steps', () => {
    expect(checkTemplate('{{source.name}} {{detail..total}}')).toEqual([
      'slot "{{source.name}}" goes inside "source", which is a plain value: expected just {{source}}',
      'slot "{{detail..total}}" has an empty or malformed step "": expected dotted names like detail.customer.tier',
    ]);
  });

  it('rejects unbalanced braces in either direction', () => {
    expect(checkTemplate('Order {{detail.id} total {{detail.total}}')).toEqual([
      'unbalanced braces: "{{" at "Order {{detail.id} t" is not closed by "}}"',
    ]);
    expect(checkTemplate('Order detail.id}} now')).toEqual(['unbalanced braces: "}}" at "er detail.id}} now" has no "{{" before it']);
    expect(checkTemplate('{{detail.id')).toHaveLength(1);
  });

  it('rejects stray braces inside a slot', () => {
    expect(checkTemplate('{{{detail.id}}}')).toEqual(['slot "{{{detail.id}}" has stray braces inside it']);
  });
});
