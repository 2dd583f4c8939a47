/* Runs Total natively (gcc/clang on the build machine): `yaowasm build`
   builds the module; `cc -I. test.c -o test && ./test` tests the logic. */
#include <stdio.h>
#include "main.c"

int main(void) {
    yao_writer args = {0}, out = {0};
    /* [{"items": [{"price": 10, "qty": 2}], "coupon": 5}] */
    yao_write_array(&args, 1);
    yao_write_map(&args, 2);
    yao_write_cstr(&args, "items");
    yao_write_array(&args, 1);
    yao_write_map(&args, 2);
    yao_write_cstr(&args, "price");
    yao_write_int(&args, 10);
    yao_write_cstr(&args, "qty");
    yao_write_int(&args, 2);
    yao_write_cstr(&args, "coupon");
    yao_write_int(&args, 5);
    double got = 0;
    yao_reader r;
    if (yao_call(total, args.data, args.len, &out) != 0) return puts("Total failed"), 1;
    r = yao_reader_make(out.data, out.len);
    if (!yao_read_number(&r, &got) || got != 15) return printf("Total = %g, want 15\n", got), 1;
    puts("ok");
    return 0;
}
