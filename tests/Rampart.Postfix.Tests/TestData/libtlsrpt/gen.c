#include <stdio.h>
#include "tlsrpt.h"
#define R "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
static struct tlsrpt_connection_t *con;
static void check(int r, const char* w){ if(r) { fprintf(stderr,"%s: %d %s\n", w, r, tlsrpt_strerror(r)); } }
int main(int argc, char** argv) {
  struct tlsrpt_dr_t *dr;
  tlsrpt_set_blocking();
  check(tlsrpt_open(&con, argv[1]), "open");
  /* 1: example 3 */
  tlsrpt_init_delivery_request(&dr, con, "company-y.example", R);
  tlsrpt_init_policy(dr, TLSRPT_POLICY_STS, "company-y.example");
  tlsrpt_add_policy_string(dr,"version: STSv1"); tlsrpt_add_policy_string(dr,"mode: testing");
  tlsrpt_add_policy_string(dr,"mx: *.mail.company-y.example"); tlsrpt_add_policy_string(dr,"max_age: 86400");
  tlsrpt_add_mx_host_pattern(dr,"*.mail.company-y.example"); tlsrpt_add_mx_host_pattern(dr,"*.mail2.company-y.example");
  tlsrpt_add_delivery_request_failure(dr, TLSRPT_STS_POLICY_INVALID, "1.2.3.4", "mailin.example.com", "test-ehlo.example.com", "11.22.33.44", "This is additional information", "999 TEST ERROR");
  tlsrpt_add_delivery_request_failure(dr, TLSRPT_STS_WEBPKI_INVALID, "1.2.3.5", "mailin.example.com", "test-ehlo.example.com", "11.22.33.55", "This is additional information", "999 TEST ERROR");
  tlsrpt_finish_policy(dr, TLSRPT_FINAL_FAILURE);
  check(tlsrpt_finish_delivery_request(&dr), "1");
  /* 2: no-policy-found, NULL domain and NULL fields */
  tlsrpt_init_delivery_request(&dr, con, "example.net", R);
  tlsrpt_init_policy(dr, TLSRPT_NO_POLICY_FOUND, NULL);
  tlsrpt_add_delivery_request_failure(dr, TLSRPT_STARTTLS_NOT_SUPPORTED, "192.0.2.1", "mx.example.net", NULL, "198.51.100.25", NULL, NULL);
  tlsrpt_finish_policy(dr, TLSRPT_FINAL_FAILURE);
  check(tlsrpt_finish_delivery_request(&dr), "2");
  /* 3: two policies, STS success with a failure, TLSA failure without */
  tlsrpt_init_delivery_request(&dr, con, "example.net", R);
  tlsrpt_init_policy(dr, TLSRPT_POLICY_STS, "example.net");
  tlsrpt_add_delivery_request_failure(dr, TLSRPT_CERTIFICATE_HOST_MISMATCH, "192.0.2.1", NULL, NULL, NULL, NULL, NULL);
  tlsrpt_finish_policy(dr, TLSRPT_FINAL_SUCCESS);
  tlsrpt_init_policy(dr, TLSRPT_POLICY_TLSA, "example.net");
  tlsrpt_finish_policy(dr, TLSRPT_FINAL_FAILURE);
  check(tlsrpt_finish_delivery_request(&dr), "3");
  /* 4: escapes and a raw byte */
  tlsrpt_init_delivery_request(&dr, con, "example.net", "v=TLSRPTv1; rua=mailto:\"q\"@example.net");
  tlsrpt_init_policy(dr, TLSRPT_POLICY_STS, "example.net");
  tlsrpt_add_policy_string(dr, "mode:\ttesting\\");
  tlsrpt_add_delivery_request_failure(dr, TLSRPT_VALIDATION_FAILURE, NULL, NULL, "mx-\xe9.example.net", NULL, NULL, "line\none\x01\x7f");
  tlsrpt_finish_policy(dr, TLSRPT_FINAL_FAILURE);
  check(tlsrpt_finish_delivery_request(&dr), "4");
  /* 5: every code */
  tlsrpt_init_delivery_request(&dr, con, "example.net", R);
  tlsrpt_init_policy(dr, TLSRPT_NO_POLICY_FOUND, NULL);
  int codes[] = {201,202,203,204,205,301,302,303,304,305,306};
  for (int i = 0; i < 11; i++) tlsrpt_add_delivery_request_failure(dr, codes[i], "192.0.2.1", "mx.example.net", NULL, "198.51.100.25", NULL, NULL);
  tlsrpt_finish_policy(dr, TLSRPT_FINAL_FAILURE);
  check(tlsrpt_finish_delivery_request(&dr), "5");
  check(tlsrpt_close(&con), "close");
  return 0;
}
