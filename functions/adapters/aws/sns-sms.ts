/** SmsSender port over Amazon SNS direct-to-phone publishing. */
import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import type { SmsMessage, SmsSender } from '../../ports.js';
import { dependencyFailure } from './failures.js';

export interface SnsSmsOptions {
  /** Alphanumeric sender ID, where the destination country supports one. */
  senderId?: string;
}

export class SnsSmsSender implements SmsSender {
  constructor(
    private readonly sns: SNSClient,
    private readonly options: SnsSmsOptions = {},
  ) {}

  async sendSms(message: SmsMessage): Promise<void> {
    // Transactional: delivered with priority (and billed as such), as a passcode must be.
    const attributes: Record<string, MessageAttributeValue> = {
      'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
    };
    if (this.options.senderId) attributes['AWS.SNS.SMS.SenderID'] = { DataType: 'String', StringValue: this.options.senderId };
    try {
      await this.sns.send(new PublishCommand({ PhoneNumber: message.to, Message: message.text, MessageAttributes: attributes }));
    } catch (error) {
      throw dependencyFailure('sns', error);
    }
  }
}
