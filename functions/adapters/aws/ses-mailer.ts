/** Mailer port over Amazon SES (v1 SendEmail): one HTML + text message per call. */
import { SendEmailCommand, type SESClient } from '@aws-sdk/client-ses';
import type { EmailMessage, Mailer } from '../../ports.js';
import { dependencyFailure } from './failures.js';

export interface SesMailerOptions {
  /** Verified sender, `no-reply@example.com` or `Twofold <no-reply@example.com>`. */
  fromAddress: string;
  /** For delivery, bounce and complaint events. */
  configurationSet?: string;
}

export class SesMailer implements Mailer {
  constructor(
    private readonly ses: SESClient,
    private readonly options: SesMailerOptions,
  ) {}

  async sendEmail(message: EmailMessage): Promise<void> {
    try {
      await this.ses.send(
        new SendEmailCommand({
          Source: this.options.fromAddress,
          Destination: { ToAddresses: [message.to] },
          Message: {
            Subject: { Data: message.subject, Charset: 'UTF-8' },
            Body: {
              Html: { Data: message.html, Charset: 'UTF-8' },
              Text: { Data: message.text, Charset: 'UTF-8' },
            },
          },
          ...(this.options.configurationSet ? { ConfigurationSetName: this.options.configurationSet } : {}),
        }),
      );
    } catch (error) {
      throw dependencyFailure('ses', error);
    }
  }
}
